using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Storage;
using Roadmap.Storage.Chunks;
using Roadmap.Storage.Sqlite;
using Roadmap.Storage.Tests.Sqlite;
using Xunit.Abstractions;

namespace Roadmap.EndToEnd.Tests.Reliability;

/// <summary>
/// The real executable on a database written before compact history (days of samples in the samples table only): on
/// start its writer converts them into chunks, batch by batch. Killed with SIGKILL again and again while it does, it
/// loses no sample, the file is never corrupt, and the conversion continues where it stopped until it is done.
/// </summary>
/// <remarks>
/// The oracle is every stored sample of the old series, hot or sealed (chunks decoded with the codec itself), as
/// (count, sum of timestamps, sum of values) per series: values and timestamps are integers, so the sums are exact.
/// </remarks>
[Collection(ReliabilityGroup.Name)]
public sealed class CompactionCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int OldSeries = 400;
    private const int Days = 4;
    private readonly string _dir = Support.TempFolder();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Run_SigkillDuringConversionIntoChunks_LosesNoSampleAndFinishesAfterRestarts()
    {
        var database = Path.Combine(_dir, "data", "roadmap.db");
        var samples = WriteOldDatabase(database);
        var expected = Merged(database);
        Assert.Equal(samples, expected.Values.Sum(s => s.Count));
        await using var feed = await JsonFeed.StartAsync(2);
        var config = IngestRig.WriteConfig(_dir, feed.Url, 2, "1s");
        var random = new Random();
        var killedMidway = 0;

        for (var run = 1; ; run++)
        {
            var port = Support.FreePort();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            await using var p = WorkerProcess.Start(_dir, IngestRig.QuietEnvironment(), "run", "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}");
            Assert.True(await IngestRig.WaitReadyAsync(http, p, TimeSpan.FromSeconds(60)), $"start {run}: not ready within 60 s; stderr:\n{p.Stderr}");
            var (sealedAtStart, _) = Progress(database);

            if (run > 4)
            {
                // The last start: the conversion finishes, then a clean stop.
                var until = TimeProvider.System.GetTimestamp();
                while (Progress(database).Hot > 0 && TimeProvider.System.GetElapsedTime(until) < TimeSpan.FromMinutes(3))
                {
                    await Task.Delay(100);
                }

                p.Terminate();
                Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(15)), "not stopped within 15 s of SIGTERM");
                break;
            }

            // Killed once a step of this run has committed, a random moment later: mostly inside a later step.
            var waited = TimeProvider.System.GetTimestamp();
            while (Progress(database).Sealed == sealedAtStart && TimeProvider.System.GetElapsedTime(waited) < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(5);
            }

            await Task.Delay(random.Next(0, 150));
            await p.KillAsync();
            Assert.Equal(128 + 9, p.ExitCode);

            using (var reader = IngestRig.OpenReader(database))
            {
                Assert.Equal("ok", string.Join('\n', reader.Query<string>("PRAGMA integrity_check;")));
            }

            var (sealedNow, hotNow) = Progress(database);
            killedMidway += hotNow > 0 ? 1 : 0;
            output.WriteLine($"kill {run}: {sealedNow} old samples sealed, {hotNow} still hot");
            Assert.Equal(expected, Merged(database));
        }

        using (var reader = IngestRig.OpenReader(database))
        {
            Assert.Equal("ok", string.Join('\n', reader.Query<string>("PRAGMA integrity_check;")));
        }

        Assert.Equal(expected, Merged(database));
        Assert.Equal(0, Progress(database).Hot);
        Assert.True(killedMidway > 0, "no kill landed before the conversion was done: the dataset is too small for this machine");
        output.WriteLine($"{killedMidway} kills landed mid-conversion; {samples} samples, all sealed in the end");
    }

    /// <summary>A database as a Roadmap without chunks left it: days of samples of many series, all in the samples
    /// table. Returns the samples written.</summary>
    private static long WriteOldDatabase(string database)
    {
        RoadmapDatabase.Open(database);
        using var c = new SqliteConnection($"Data Source={database};Pooling=False");
        c.Open();
        using var tx = c.BeginTransaction();
        var start = RollupLevel.Day.StartOf(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) - ((Days + 2) * RollupLevel.Day.SizeMs);
        using var series = c.CreateCommand();
        series.Transaction = tx;
        series.CommandText = "INSERT INTO series (id, source, signal, source_key) VALUES ($id, 'old' || $id, 'v', $id);";
        var id = series.Parameters.Add("$id", SqliteType.Integer);
        using var insert = c.CreateCommand();
        insert.Transaction = tx;
        // A series of its own source: a hot row per sample, its one entry at offset 0 from the key.
        insert.CommandText = "INSERT INTO samples (source_key, ts, data) VALUES ($s, $t, $d);";
        var ps = insert.Parameters.Add("$s", SqliteType.Integer);
        var pt = insert.Parameters.Add("$t", SqliteType.Integer);
        var pd = insert.Parameters.Add("$d", SqliteType.Blob);
        long written = 0;
        for (var s = 1; s <= OldSeries; s++)
        {
            id.Value = s;
            series.ExecuteNonQuery();
            ps.Value = s;
            for (var m = 0; m < Days * 24 * 60; m++, written++)
            {
                pt.Value = start + (m * 60_000L) + (m % 7);
                pd.Value = HotSamplesTable.Encode([(0, (double)((m * s) % 1000))]);
                insert.ExecuteNonQuery();
            }
        }

        tx.Commit();
        return written;
    }

    /// <summary>Old samples sealed in chunks, and old samples still hot.</summary>
    private static (long Sealed, long Hot) Progress(string database)
    {
        using var c = IngestRig.OpenReader(database);
        using var tx = c.BeginTransaction(deferred: true);
        return (
            c.ExecuteScalar<long>("SELECT coalesce(sum(count), 0) FROM chunks WHERE series_id <= @n;", new { n = OldSeries }, tx),
            HotSamplesTable.Read(c, tx).Count(h => h.Series <= OldSeries));
    }

    /// <summary>Every old series' samples, hot or sealed: (count, sum of ts, sum of values).</summary>
    private static Dictionary<long, (long Count, long SumTs, double SumValues)> Merged(string database)
    {
        using var c = IngestRig.OpenReader(database);
        using var tx = c.BeginTransaction(deferred: true);
        var points = new Dictionary<(long, long), double>();
        foreach (var (series, data) in c.Query<(long, byte[])>("SELECT series_id, data FROM chunks WHERE series_id <= @n;", new { n = OldSeries }, tx))
        {
            foreach (var p in ChunkCodec.Decode(data))
            {
                points[(series, p.TimestampMs)] = p.Value;
            }
        }

        foreach (var (series, ts, value) in HotSamplesTable.Read(c, tx).Where(h => h.Series <= OldSeries))
        {
            points[(series, ts)] = value;
        }

        return points.GroupBy(kv => kv.Key.Item1).ToDictionary(
            g => g.Key,
            g => ((long)g.Count(), g.Sum(kv => kv.Key.Item2), g.Sum(kv => kv.Value)));
    }
}
