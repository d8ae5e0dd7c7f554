using System.Diagnostics;
using System.Security.Cryptography;
using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Storage.Tests.Sqlite;

namespace Roadmap.EndToEnd.Tests.Reliability;

/// <summary>
/// The real executable started on a database it cannot use: it exits 1 with an error naming the file, and leaves the
/// file's bytes exactly as they were (a damaged database is evidence, and maybe recoverable; never "repair" it).
/// Roadmap.Storage.Tests covers <see cref="RoadmapDatabase.Open"/> on a garbage file in-process; these cover the CLI's
/// exit code and message for every kind of damage.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // file modes, setpriv
public sealed class DatabaseAtStartTests : IDisposable
{
    private readonly string _dir = Support.TempFolder();
    private readonly string _database;
    private readonly string _config;

    public DatabaseAtStartTests()
    {
        _database = Path.Combine(_dir, "data", "roadmap.db");
        Directory.CreateDirectory(Path.GetDirectoryName(_database)!);
        _config = Path.Combine(_dir, "roadmap.yaml");
        File.WriteAllText(_config, """
            roadmap: { name: Damaged }
            sources:
              - { id: web, kind: http, every: 1s, url: "http://127.0.0.1:1/" }
            """);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (File.Exists(_database))
        {
            File.SetUnixFileMode(_database, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string> Damages() => new()
    {
        "garbage",          // 8 KiB of random bytes: not a database at all
        "cut-in-header",    // a real database cut to its first 50 bytes
        "cut-in-half",      // a real database of many pages cut to half of them: the header promises pages that are gone
        "directory",        // a directory where the file should be
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task Run_DamagedDatabase_Exits1NamingTheFileAndLeavesItUntouched(string damage)
    {
        Damage(damage);
        var before = Fingerprint();

        await using var p = WorkerProcess.Start(_dir, "run", "--config", _config, "--database", _database, "--urls", $"http://127.0.0.1:{Support.FreePort()}");
        var exited = await p.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exited, $"still running 30 s after start on a {damage} database: the damage was not detected at start; stdout:\n{p.Stdout}");
        Assert.Equal(1, p.ExitCode);
        Assert.Contains($"error: cannot open the database {_database}", p.Stderr);
        Assert.Equal(before, Fingerprint());
    }

    [SkippableFact]
    public async Task Run_UnreadableDatabase_Exits1NamingTheFileAndLeavesItUntouched()
    {
        WriteRealDatabase();
        File.SetUnixFileMode(_database, UnixFileMode.None);
        var before = Fingerprint();
        // Root reads a mode-000 file anyway; without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH it is refused like anyone.
        string[] launcher = [];
        if (IsRoot())
        {
            Skip.IfNot(await CanDropCapabilitiesAsync(), "running as root and setpriv cannot drop CAP_DAC_OVERRIDE here, so no file is unreadable to the service");
            launcher = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"];
        }

        await using var p = WorkerProcess.StartWithLauncher(_dir, launcher, new Dictionary<string, string?>(), "run", "--config", _config, "--database", _database, "--urls", $"http://127.0.0.1:{Support.FreePort()}");
        var exited = await p.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exited, $"still running 30 s after start on an unreadable database; stdout:\n{p.Stdout}");
        Assert.Equal(1, p.ExitCode);
        Assert.Contains($"error: cannot open the database {_database}", p.Stderr);
        Assert.Equal(before, Fingerprint());
    }

    private static bool IsRoot()
    {
        using var p = Process.Start(new ProcessStartInfo("id", "-u") { RedirectStandardOutput = true })!;
        var uid = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return uid == "0";
    }

    private static async Task<bool> CanDropCapabilitiesAsync()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("setpriv", ["--bounding-set", "-dac_override,-dac_read_search", "--", "true"]) { RedirectStandardError = true })!;
            await p.WaitForExitAsync();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private void Damage(string damage)
    {
        switch (damage)
        {
            case "garbage":
                var garbage = new byte[8192];
                new Random(7).NextBytes(garbage);
                File.WriteAllBytes(_database, garbage);
                break;
            case "cut-in-header":
                WriteRealDatabase();
                Truncate(50);
                break;
            case "cut-in-half":
                WriteRealDatabase();
                Truncate(new FileInfo(_database).Length / 4096 / 2 * 4096);
                break;
            case "directory":
                Directory.CreateDirectory(_database);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, "unknown damage");
        }
    }

    /// <summary>A database as the service leaves it, with enough samples for a few hundred pages, checkpointed into one file.</summary>
    private void WriteRealDatabase()
    {
        if (File.Exists(_database))
        {
            File.Delete(_database);
        }

        var db = RoadmapDatabase.Open(_database);
        using (var c = db.OpenConnection())
        {
            using var tx = c.BeginTransaction();
            c.Execute("INSERT INTO series (source, signal) VALUES ('web', 'up');", transaction: tx);
            c.Execute(
                "INSERT INTO samples (source_key, ts, data) VALUES ((SELECT source_key FROM series WHERE id = 1), @ts, @data);",
                Enumerable.Range(0, 20_000).Select(i => new { ts = 1_700_000_000_000L + (i * 1000L), data = HotSamplesTable.Encode([(0, i % 2)]) }),
                tx);
            tx.Commit();
            c.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        SqliteConnection.ClearAllPools();
        foreach (var sidecar in new[] { "-wal", "-shm" })
        {
            File.Delete(_database + sidecar);
        }
    }

    private void Truncate(long length)
    {
        using var f = new FileStream(_database, FileMode.Open, FileAccess.Write);
        f.SetLength(length);
    }

    private string Fingerprint()
    {
        if (Directory.Exists(_database))
        {
            return "directory: " + string.Join(", ", Directory.GetFileSystemEntries(_database));
        }

        // Read as the test (root, or the owner), whatever the file's mode, and put the mode back: it is part of the print.
        var mode = File.GetUnixFileMode(_database);
        File.SetUnixFileMode(_database, mode | UnixFileMode.UserRead);
        var hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_database)));
        File.SetUnixFileMode(_database, mode);
        return $"{mode}: {hash}";
    }
}
