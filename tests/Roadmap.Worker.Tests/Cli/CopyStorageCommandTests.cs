using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Storage;
using Roadmap.Storage.Copy;
using Roadmap.Storage.Tests.Sqlite;
using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Cli;

/// <summary>The copy-storage verb on real SQLite files: exit codes, messages, progress, and files left unchanged.</summary>
public sealed partial class CopyStorageCommandTests : IDisposable
{
    /// <summary>A week back: recent enough that the writer's retention (35 days of raw samples on the system clock)
    /// never sweeps the data away, whatever the day the tests run.</summary>
    internal static readonly DateTimeOffset T0 = new(DateTime.UtcNow.Date.AddDays(-7), TimeSpan.Zero);
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task RunAsync_SqliteIntoANewFile_ExitsZeroAndTheCopyAnswersAsTheSource()
    {
        var source = await WriteSource("source.db", 1);
        var destination = _temp.File(Path.Combine("new", "copy.db"));

        var (code, stdout, stderr) = await Run(["--from", source, "--to", destination, "--quiet"]);

        Assert.True(code == RoadmapCli.Ok, stderr);
        Assert.Contains("verified: every table's row count and every stream's checksum match", stdout);
        Assert.Matches(@"samples\s+2,000\s+2,000\s+2,000", stdout);
        Assert.Equal("", stderr);
        var a = StorageBackends.Open(new StorageOptions { Path = source });
        var b = StorageBackends.Open(new StorageOptions { Path = destination });
        Assert.Equal(a.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)), b.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)));
        Assert.Equal(a.Samples.Polls("web", T0, T0.AddDays(1)), b.Samples.Polls("web", T0, T0.AddDays(1)));
    }

    [Fact]
    public async Task RunAsync_CompactedSource_CopiesItsChunksAsTheyAreAndItsHotRows()
    {
        // Sealed at 10:05: the first ten hours a chunk each per series, the rest (400 polls, 800 samples) hot.
        var source = await WriteSource(_temp, "source.db", 1, sealAt: T0.AddHours(10).AddMinutes(5));
        var destination = _temp.File("copy.db");

        var (code, stdout, stderr) = await Run(["--from", source, "--to", destination, "--quiet"]);

        Assert.True(code == RoadmapCli.Ok, stderr);
        Assert.Contains("verified: every table's row count and every stream's checksum match", stdout);
        Assert.Matches(@"samples\s+800\s+800\s+800\s", stdout);
        Assert.Matches(@"chunks\s+20\s+20\s+20\s", stdout);
        const string Chunks = "SELECT s.signal, c.start_ts, c.end_ts, c.count, c.min_ts, c.max_ts, hex(c.data) FROM chunks c JOIN series s ON s.id = c.series_id ORDER BY 1, 2;";
        Assert.Equal(Rows(source, Chunks), Rows(destination, Chunks));
        var a = StorageBackends.Open(new StorageOptions { Path = source });
        var b = StorageBackends.Open(new StorageOptions { Path = destination });
        Assert.Equal(a.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)), b.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)));
        Assert.Equal(1000, b.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)).Count);
    }

    [Fact]
    public async Task RunAsync_SourceWithADamagedChunk_ExitsOneNamingItsSeriesAndRange()
    {
        var source = await WriteSource(_temp, "source.db", 1, sealAt: T0.AddHours(10).AddMinutes(5));
        var at = T0.AddHours(3).ToUnixTimeMilliseconds();
        // One byte of the chunk's stored bytes changed, as a bad sector or a stray write would.
        Sql(source, string.Create(CultureInfo.InvariantCulture, $"UPDATE chunks SET data = substr(data, 1, 20) || CASE WHEN substr(data, 21, 1) = x'00' THEN x'ff' ELSE x'00' END || substr(data, 22) WHERE start_ts = {at} AND series_id = (SELECT id FROM series WHERE signal = 'latency_seconds');"));
        var destination = _temp.File("copy.db");

        var (code, stdout, stderr) = await Run(["--from", source, "--to", destination, "--quiet"]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"error: the chunk of web/latency_seconds for {T0.AddHours(3):yyyy-MM-dd HH:mm} UTC to {T0.AddHours(4):yyyy-MM-dd HH:mm} UTC (start_ts {at}) is damaged: corrupt chunk: its checksum does not match"), stderr);
        Assert.Contains($"in {source}. Nothing of it was copied", stderr);
        Assert.DoesNotContain("verified", stdout);
        Assert.Empty(Rows(destination, string.Create(CultureInfo.InvariantCulture, $"SELECT start_ts FROM chunks WHERE start_ts = {at};")));
    }

    [Fact]
    public async Task RunAsync_SourceWithADamagedHotRow_ExitsOneNamingItsKeyAndTime()
    {
        var source = await WriteSource("source.db", 1);
        var at = T0.AddMinutes(7);
        // The row of web's poll at minute 7 cut in the middle of its second entry's value.
        Sql(source, string.Create(CultureInfo.InvariantCulture, $"UPDATE samples SET data = substr(data, 1, 14) WHERE ts = {at.ToUnixTimeMilliseconds()};"));
        var key = Rows(source, "SELECT source_key FROM series WHERE source = 'web' AND signal = 'up';").Single();
        var destination = _temp.File("copy.db");

        var (code, stdout, stderr) = await Run(["--from", source, "--to", destination, "--quiet"]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"a hot samples row is damaged: an entry's value is cut short at byte 10 (source key {key}, ts {at.ToUnixTimeMilliseconds()}: {at:yyyy-MM-dd HH:mm:ss} UTC)"), stderr);
        Assert.DoesNotContain("verified", stdout);
    }

    [Fact]
    public async Task RunAsync_NotQuiet_WritesProgressLinesWithRateAndEta()
    {
        var source = await WriteSource("source.db", 1);

        // Two seconds pass between any two looks at the clock: every page is worth a line.
        var (code, _, stderr) = await Run(["--from", source, "--to", _temp.File("copy.db")], time: new SteppingTime(), batchRows: 100);

        Assert.Equal(RoadmapCli.Ok, code);
        Assert.Matches(ProgressLine(), stderr);
        Assert.Contains("verifying samples:", stderr);
    }

    [Fact]
    public async Task RunAsync_InterruptedMidCopy_ExitsOneAndTheSameCommandResumesToAVerifiedCopy()
    {
        var source = await WriteSource("source.db", 1);
        var destination = _temp.File("copy.db");
        using var cts = new CancellationTokenSource();
        // Cancelled, as Ctrl-C or SIGTERM would, once a few pages are in.
        var stderr = new CancelAfterLines(cts, "copying samples:", 3);

        var code = await CopyStorageCommand.RunAsync(Options(["--from", source, "--to", destination]), TextWriter.Null, stderr, cts.Token, new SteppingTime(), batchRows: 100);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"interrupted: what was copied is kept in {destination}; run the same command again to resume", stderr.Text);
        var partial = Count(destination, "samples");
        Assert.InRange(partial, 1, 1999);

        var (again, stdout, _) = await Run(["--from", source, "--to", destination, "--quiet"]);

        Assert.Equal(RoadmapCli.Ok, again);
        Assert.Matches($@"samples\s+2,000\s+2,000\s+{2000 - partial:N0}\s", stdout);
        Assert.Equal(2000, Count(destination, "samples"));
    }

    [Fact]
    public async Task RunAsync_SourceMissing_ExitsOneAndCreatesNothing()
    {
        var destination = _temp.File(Path.Combine("out", "copy.db"));

        var (code, _, stderr) = await Run(["--from", _temp.File("nowhere.db"), "--to", destination]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: no database at {_temp.File("nowhere.db")}", stderr);
        Assert.False(Directory.Exists(Path.GetDirectoryName(destination)));
    }

    [Theory]
    [InlineData("another program's SQLite database", "is not a Roadmap database (it has no schema_version table)")]
    [InlineData("a text file", "is not a Roadmap database: ")]
    public async Task RunAsync_SourceNotARoadmapDatabase_ExitsOneAndChangesNothing(string what, string message)
    {
        var source = _temp.File("other.db");
        if (what == "a text file")
        {
            await File.WriteAllTextAsync(source, "roadmap: { name: not a database }\n" + new string('x', 4096));
        }
        else
        {
            Sql(source, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me');");
        }

        var before = Hash(source);
        var destination = _temp.File("copy.db");

        var (code, _, stderr) = await Run(["--from", source, "--to", destination]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: {source} {message}", stderr);
        Assert.Equal(before, Hash(source));
        Assert.False(File.Exists(destination));
    }

    [Theory]
    [InlineData(-1, "older than this Roadmap's")]
    [InlineData(1, "newer than this Roadmap knows")]
    public async Task RunAsync_SourceOfAnotherSchemaVersion_ExitsOneAndLeavesItUnmigrated(int offset, string message)
    {
        var source = await WriteSource("source.db", 1);
        var current = Version(source);
        Sql(source, offset < 0 ? $"DELETE FROM schema_version WHERE version = {current};" : $"INSERT INTO schema_version (version, applied_at) VALUES ({current + 1}, 0);");
        var before = Hash(source);

        var (code, _, stderr) = await Run(["--from", source, "--to", _temp.File("copy.db")]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: {source} has schema version {current + offset}, {message}", stderr);
        Assert.Equal(before, Hash(source));
        Assert.False(File.Exists(_temp.File("copy.db")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunAsync_DestinationIsTheSourceItself_ExitsOneAndChangesNothing(bool throughALink)
    {
        var source = await WriteSource("source.db", 1);
        var destination = source;
        if (throughALink)
        {
            destination = _temp.File("link.db");
            File.CreateSymbolicLink(destination, source);
        }

        var before = Hash(source);

        var (code, _, stderr) = await Run(["--from", source, "--to", destination]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: the destination {destination} is the source itself; copy into another file", stderr);
        Assert.Equal(before, Hash(source));
    }

    [Fact]
    public async Task RunAsync_DestinationIsAnotherProgramsDatabase_ExitsOneAndAddsNoTables()
    {
        var source = await WriteSource("source.db", 1);
        var destination = _temp.File("other.db");
        Sql(destination, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);");
        var before = Hash(destination);

        var (code, _, stderr) = await Run(["--from", source, "--to", destination]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains("is not a Roadmap database", stderr);
        Assert.Equal(before, Hash(destination));
    }

    [Fact]
    public async Task RunAsync_DestinationHoldsOtherSamplesOfASeries_ExitsOneListsItAndCopiesNothing()
    {
        var source = await WriteSource("source.db", 1);
        // Another store with the same series and other values: what the service wrote there on its own.
        var destination = await WriteSource("other.db", 2);
        var samples = Count(destination, "samples");
        var evaluations = Count(destination, "evaluations");

        var (code, stdout, stderr) = await Run(["--from", source, "--to", destination, "--quiet"]);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: {destination} already holds data that is not the start of {source}'s; nothing was copied:", stderr);
        Assert.Matches(@"samples web/latency_seconds: the destination holds 1,000 rows \(checksum [0-9a-f]{16}\), the source's first 1,000 have checksum [0-9a-f]{16}", stderr);
        Assert.DoesNotContain("verified", stdout);
        Assert.Equal(samples, Count(destination, "samples"));
        Assert.Equal(evaluations, Count(destination, "evaluations"));
    }

    [Fact]
    public async Task RunAsync_ToPostgresWithoutAConnectionString_ExitsTwoAndSaysWhereItIsRead()
    {
        var source = await WriteSource("source.db", 1);

        var (code, _, stderr) = await Run(["--from", source, "--to", "postgres"], environment: _ => null);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, code);
        Assert.Contains($"--to-connection-string-file PATH or in ${CopyStorageCommand.ConnectionStringVariable}", stderr);
    }

    [Fact]
    public async Task RunAsync_ConnectionStringFileIsAFifo_ExitsTwoWithoutWaitingOnIt()
    {
        var source = await WriteSource("source.db", 1);
        var fifo = _temp.File("connection.fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
        }

        // Nobody ever writes to it: opened for reading without O_NONBLOCK, it would wait forever.
        var run = Run(["--from", source, "--to", "postgres", "--to-connection-string-file", fifo], environment: _ => null);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));

        Assert.Same(run, finished);
        var (code, _, stderr) = await run;
        Assert.Equal(RoadmapCli.BadConfigOrUsage, code);
        Assert.Contains($"error: cannot read --to-connection-string-file {fifo}", stderr);
    }

    [Fact]
    public async Task RunAsync_WithoutFromOrTo_ExitsTwo()
    {
        var (code, _, stderr) = await Run(["--to", _temp.File("copy.db")]);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, code);
        Assert.Contains("copy-storage needs --from", stderr);
    }

    [Fact]
    public void Parse_CopyStorageQuiet_IsAFlagThatTakesNoValue()
    {
        var command = CommandLine.Parse(["copy-storage", "--quiet", "--from", "a.db", "--to", "b.db"], out var error);

        Assert.Null(error);
        Assert.Equal("copy-storage", command!.Verb);
        Assert.Equal(new Dictionary<string, string> { ["quiet"] = "true", ["from"] = "a.db", ["to"] = "b.db" }, command.Options);
        Assert.Null(CommandLine.Parse(["copy-storage", "--quiet=yes"], out error));
        Assert.Equal("option --quiet takes no value", error);
    }

    [GeneratedRegex(@"copying samples: [\d,]+/2,000 rows \(\d+%\), [\d,]+ rows/s, ETA \d+m\d\ds")]
    private static partial Regex ProgressLine();

    private static Dictionary<string, string> Options(string[] args) => new(CommandLine.Parse(["copy-storage", .. args], out _)!.Options);

    internal static async Task<(int Code, string Stdout, string Stderr)> Run(string[] args, TimeProvider? time = null, int batchRows = StorageCopier.DefaultBatchRows, Func<string, string?>? environment = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CopyStorageCommand.RunAsync(Options(args), stdout, stderr, CancellationToken.None, time, batchRows, environment);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// A Roadmap database written as the service writes one: 1,000 polls of "web" a minute apart with two samples
    /// each (values depend on <paramref name="seed"/>), all hot, and a few evaluations.
    /// </summary>
    private Task<string> WriteSource(string name, int seed) => WriteSource(_temp, name, seed);

    /// <inheritdoc cref="WriteSource(string, int)"/>
    /// <param name="sealAt">When given, the samples then sealed by the writer's compactor are sealed into chunks.</param>
    internal static async Task<string> WriteSource(TempFolder temp, string name, int seed, DateTimeOffset? sealAt = null)
    {
        var path = temp.File(name);
        var storage = StorageBackends.Open(new StorageOptions { Path = path });
        // Never sealed while written: what is hot and what is sealed is the test's choice, not the clock's.
        await using (var writer = new BatchedWriter(storage, new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }, TimeProvider.System, NullLogger<BatchedWriter>.Instance))
        {
            writer.Start();
            for (var i = 0; i < 1000; i++)
            {
                writer.TryEnqueue(new PollRecord("web", T0.AddMinutes(i).ToUnixTimeMilliseconds(), 0.01, i % 13 != 0, i % 13 != 0 ? null : "HTTP 503", [new("up", i % 13 != 0 ? 1 : 0), new("latency_seconds", seed * (0.05 + (i % 17 / 1000.0)))]));
            }

            await writer.FlushAsync();
        }

        if (sealAt is { } now)
        {
            using var session = storage.OpenWriteSession(new StorageOptions(), new FakeTimeProvider(now));
            while (session.Compact().Chunks > 0)
            {
            }
        }

        storage.Evaluations.Append([new Core.Evaluation.KpiEvaluation("shop", "uptime", T0.AddHours(1), 0.99, 0.999, false, Core.Evaluation.KpiStatus.AtRisk, null, 60, "")]);
        SqliteConnection.ClearAllPools();
        return path;
    }

    private static void Sql(string path, string sql)
    {
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
    }

    private static long Version(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT max(version) FROM schema_version;";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>The rows of a query on the file, each as its columns joined.</summary>
    private static List<string> Rows(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<string>();
        while (r.Read())
        {
            rows.Add(string.Join(' ', Enumerable.Range(0, r.FieldCount).Select(i => Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    private static long Count(string path, string table)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        if (table == "samples")
        {
            return HotSamplesTable.Count(c); // a hot row holds a source key's samples at one ts
        }

        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM {table};";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>The file's bytes and those of its write-ahead log, if it has one.</summary>
    private static string Hash(string path)
    {
        SqliteConnection.ClearAllPools();
        var wal = path + "-wal";
        var bytes = File.ReadAllBytes(path).Concat(File.Exists(wal) ? File.ReadAllBytes(wal) : []).ToArray();
        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    /// <summary>A clock two seconds further on at every look.</summary>
    private sealed class SteppingTime : TimeProvider
    {
        private long _now;

        public override long GetTimestamp() => _now += 2 * TimestampFrequency;
    }

    /// <summary>A stderr that cancels once it has seen <paramref name="lines"/> lines starting with <paramref name="prefix"/>.</summary>
    private sealed class CancelAfterLines(CancellationTokenSource cts, string prefix, int lines) : StringWriter
    {
        private int _seen;

        public string Text => ToString();

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.StartsWith(prefix, StringComparison.Ordinal) && ++_seen >= lines)
            {
                cts.Cancel();
            }
        }
    }
}
