using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

public sealed class RollupTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDatabase _temp = new();

    public void Dispose() => _temp.Dispose();

    private static BatchedWriter NewWriter(RoadmapDatabase db, StorageOptions? options = null, TimeProvider? time = null) =>
        new(db, options ?? new StorageOptions(), time ?? TimeProvider.System, NullLogger<BatchedWriter>.Instance);

    private static PollRecord Poll(long ts, params (string Signal, double Value)[] samples) =>
        new("web", ts, 0.01, true, null, samples.Select(s => new SignalSample(s.Signal, s.Value)).ToList());

    /// <summary>Latency-like values every 7 minutes for 3 days, some late, some repeated at one ts.</summary>
    private static List<PollRecord> Workload()
    {
        var random = new Random(7);
        var polls = new List<PollRecord>();
        for (var i = 0; i < 3 * 24 * 60 / 7; i++)
        {
            polls.Add(Poll(T0.AddMinutes(7 * i).ToUnixTimeMilliseconds(), ("latency", Math.Round(random.NextDouble() * 3, 3)), ("requests", i * 10 % 500)));
        }

        // Late: a sample inside an hour already written, and a second value at an existing ts (the later one wins).
        polls.Add(Poll(T0.AddMinutes(30).AddSeconds(1).ToUnixTimeMilliseconds(), ("latency", 9.5)));
        polls.Add(Poll(T0.AddMinutes(7 * 20).ToUnixTimeMilliseconds(), ("latency", 0.001)));
        return polls;
    }

    [Fact]
    public async Task Writer_BatchesRestartsAndLateSamples_RollupsEqualARecomputeFromRaw()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        var polls = Workload();
        var writer = NewWriter(db);
        writer.Start();
        var chunks = 0;
        foreach (var chunk in polls.Chunk(97))
        {
            foreach (var p in chunk)
            {
                writer.TryEnqueue(p);
            }

            await writer.FlushAsync();
            if (++chunks == 4)
            {
                // A restart: the next writer reads the open buckets back from their rows.
                await writer.DisposeAsync();
                writer = NewWriter(db);
                writer.Start();
            }
        }

        await writer.DisposeAsync();

        using var c = db.OpenConnection();
        var raw = c.Query<(long Series, long Ts, double Value)>("SELECT series_id, ts, value FROM samples ORDER BY series_id, ts;").ToList();
        Assert.Equal((2 * (polls.Count - 2)) + 1, raw.Count); // the repeated ts replaced a sample instead of adding one
        foreach (var (table, size) in new[] { ("rollups_hour", 3_600_000L), ("rollups_day", 86_400_000L) })
        {
            var expected = raw.GroupBy(r => (r.Series, Start: r.Ts - (r.Ts % size)))
                .ToDictionary(g => g.Key, g => SeriesSummary.FromPoints(g.Select(r => new Point(r.Ts, r.Value))));
            var rows = ReadRollups(c, table);
            Assert.Equal(expected.Keys.Order(), rows.Keys.Order());
            foreach (var (key, want) in expected)
            {
                var got = rows[key];
                Assert.Equal(want.Count, got.Count);
                Assert.Equal(want.Sum, got.Sum, 9);
                Assert.Equal(want.Min, got.Min);
                Assert.Equal(want.Max, got.Max);
                Assert.Equal(want.FirstTimestampMs, got.FirstTimestampMs);
                Assert.Equal(want.FirstValue, got.FirstValue);
                Assert.Equal(want.LastTimestampMs, got.LastTimestampMs);
                Assert.Equal(want.LastValue, got.LastValue);
                Assert.Equal(want.Increase, got.Increase, 9);
                Assert.Equal(want.Count, got.Sketch.Count);
            }
        }
    }

    public static TheoryData<string, int, int> Windows => new()
    {
        // name, from (minutes after T0), to (minutes after T0)
        { "under a day: raw", 95, 95 + (23 * 60) },
        { "exactly one day, hour-aligned", 60, 60 + (24 * 60) },
        { "two days, ragged edges", 13, 13 + (2 * 24 * 60) + 17 },
        { "whole days inside", 1, (3 * 24 * 60) - 1 },
        { "beyond the data", 600, 5 * 24 * 60 },
    };

    [Theory]
    [MemberData(nameof(Windows))]
    public async Task Summarize_WindowWithEdges_EqualsARecomputeFromRaw(string name, int fromMinutes, int toMinutes)
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        await using (var writer = NewWriter(db))
        {
            writer.Start();
            foreach (var p in Workload())
            {
                writer.TryEnqueue(p);
            }
        }

        var reader = new SampleReader(db);
        var from = T0.AddMinutes(fromMinutes);
        var to = T0.AddMinutes(toMinutes);
        foreach (var signal in new[] { "latency", "requests" })
        {
            var points = reader.Read("web", signal, from, to);
            using var session = reader.OpenSession();
            var summary = session.Summarize("web", signal, from, to);

            Assert.True(points.Count > 100, name);
            Assert.Equal(points.Count, summary.Count);
            Assert.Equal(points.Sum(p => p.Value), summary.Sum, 9);
            Assert.Equal(points.Min(p => p.Value), summary.Min);
            Assert.Equal(points.Max(p => p.Value), summary.Max);
            Assert.Equal(points[^1].Value, summary.LastValue);
            foreach (var aggregate in new[] { Core.Config.Aggregate.Avg, Core.Config.Aggregate.Increase, Core.Config.Aggregate.Last })
            {
                Assert.Equal(Aggregates.Compute(aggregate, points)!.Value, Aggregates.Compute(aggregate, summary, null)!.Value, 9);
            }

            var exact95 = Aggregates.Compute(Core.Config.Aggregate.P95, points)!.Value;
            var p95 = Aggregates.Compute(Core.Config.Aggregate.P95, summary, null)!.Value;
            Assert.InRange(p95, exact95 * 0.99, exact95 * 1.01);
        }
    }

    [Fact]
    public void Summarize_UnknownSeries_IsEmpty()
    {
        var reader = new SampleReader(RoadmapDatabase.Open(_temp.DatabasePath));
        Assert.Equal(0, reader.Summarize("nope", "up", T0, T0.AddDays(30)).Count);
    }

    [Fact]
    public void Open_VersionTwoDatabase_KeepsEverySampleLastDuplicateWinsAndBuildsRollups()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_temp.DatabasePath)!);
        using (var c = new SqliteConnection($"Data Source={_temp.DatabasePath};Pooling=False"))
        {
            c.Open();
            // The v1 and v2 schema as released.
            c.Execute(
                """
                CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
                INSERT INTO schema_version VALUES (1, 0), (2, 0);
                CREATE TABLE series (id INTEGER PRIMARY KEY, source TEXT NOT NULL, signal TEXT NOT NULL, UNIQUE (source, signal));
                CREATE TABLE samples (series_id INTEGER NOT NULL REFERENCES series (id), ts INTEGER NOT NULL, value REAL NOT NULL);
                CREATE INDEX samples_by_series_ts ON samples (series_id, ts);
                CREATE TABLE polls (id INTEGER PRIMARY KEY, source TEXT NOT NULL, ts INTEGER NOT NULL, duration_ms REAL NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')), reason TEXT);
                CREATE INDEX polls_by_source_ts ON polls (source, ts);
                CREATE TABLE evaluations (initiative TEXT NOT NULL, kpi TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, target REAL, status TEXT NOT NULL);
                CREATE INDEX evaluations_by_kpi_ts ON evaluations (initiative, kpi, ts);
                CREATE TABLE baselines (initiative TEXT NOT NULL, kpi TEXT NOT NULL, from_date TEXT NOT NULL, to_date TEXT NOT NULL,
                    definition TEXT NOT NULL, value REAL NOT NULL, samples INTEGER NOT NULL, computed_at INTEGER NOT NULL,
                    PRIMARY KEY (initiative, kpi, from_date, to_date, definition));
                INSERT INTO series (id, source, signal) VALUES (1, 'web', 'up'), (2, 'web', 'latency_seconds');
                INSERT INTO polls (source, ts, duration_ms, outcome) VALUES ('web', 1, 5, 'success');
                INSERT INTO evaluations VALUES ('i', 'k', 1, 0.5, 1, 'missed');
                """);
            var t0 = T0.ToUnixTimeMilliseconds();
            for (var i = 0; i < 200; i++)
            {
                c.Execute("INSERT INTO samples (series_id, ts, value) VALUES (1, @ts, @v), (2, @ts, @l);", new { ts = t0 + (i * 60_000L), v = i % 7 == 0 ? 0 : 1, l = i / 100.0 });
            }

            c.Execute("INSERT INTO samples (series_id, ts, value) VALUES (2, @ts, 42);", new { ts = t0 + 60_000L }); // a duplicate ts, inserted last
        }

        var db = RoadmapDatabase.Open(_temp.DatabasePath);

        Assert.Equal(4, db.SchemaVersion);
        var reader = new SampleReader(db);
        var up = reader.Read("web", "up", T0, T0.AddDays(1));
        Assert.Equal(200, up.Count);
        Assert.Equal(200 - 29, up.Sum(p => p.Value));
        var latency = reader.Read("web", "latency_seconds", T0, T0.AddDays(1));
        Assert.Equal(200, latency.Count);
        Assert.Equal(42, latency[1].Value);
        Assert.Equal(1, reader.CountPolls("web"));
        using var c2 = db.OpenConnection();
        Assert.Equal(1, c2.ExecuteScalar<long>("SELECT count(*) FROM evaluations;"));
        Assert.Equal(200, c2.ExecuteScalar<long>("SELECT sum(count) FROM rollups_hour WHERE series_id = 1;"));
        Assert.Equal(200 - 29, c2.ExecuteScalar<double>("SELECT sum(sum) FROM rollups_day WHERE series_id = 1;"));
        Assert.Equal(4, c2.ExecuteScalar<long>("SELECT count(*) FROM rollups_hour WHERE series_id = 2;")); // 200 minutes: hours 0..3
    }

    [Fact]
    public async Task RetentionStep_OldAndNewData_DeletesOnlyWhatIsOlderInSmallBatches()
    {
        var time = new FakeTimeProvider(T0);
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        var options = new StorageOptions { RawRetention = TimeSpan.FromDays(2), RollupRetention = TimeSpan.FromDays(3), PruneBatchRows = 100, PruneInterval = TimeSpan.FromDays(365) };
        await using (var writer = NewWriter(db, new StorageOptions()))
        {
            writer.Start();
            // One sample a minute for 5 days before "now".
            for (var m = 5 * 24 * 60; m > 0; m--)
            {
                writer.TryEnqueue(Poll(T0.AddMinutes(-m).ToUnixTimeMilliseconds(), ("up", 1)));
            }
        }

        var retention = new Retention(options, time);
        using var c = db.OpenConnection();
        var steps = new List<int>();
        while (retention.Step(c) is var n && n > 0)
        {
            steps.Add(n);
            Assert.True(steps.Count < 1000, "retention never finished");
        }

        Assert.All(steps, n => Assert.InRange(n, 1, 100));
        var rawCut = T0.AddDays(-2).ToUnixTimeMilliseconds();
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM samples WHERE ts < @rawCut;", new { rawCut }));
        Assert.Equal(2 * 24 * 60, c.ExecuteScalar<long>("SELECT count(*) FROM samples;"));
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE ts < @rawCut;", new { rawCut }));
        Assert.Equal(2 * 24 * 60, c.ExecuteScalar<long>("SELECT count(*) FROM polls;"));
        var rollupCut = T0.AddDays(-3).ToUnixTimeMilliseconds();
        Assert.Equal(3 * 24, c.ExecuteScalar<long>("SELECT count(*) FROM rollups_hour;"));
        Assert.Equal(rollupCut, c.ExecuteScalar<long>("SELECT min(start_ts) FROM rollups_hour;"));
        Assert.Equal(3, c.ExecuteScalar<long>("SELECT count(*) FROM rollups_day;"));
        Assert.Equal(4320 + 4320 + 48 + 2, retention.RowsDeleted); // samples, polls, hours, days
        Assert.Equal(0, retention.Step(c)); // done until the next sweep

        // Past the edge of raw retention, the edge hour's rollup stands in for its pruned raw samples: the whole
        // hour counts, including the 30 minutes before the window (the documented approximation).
        var summary = new SampleReader(db).Summarize("web", "up", T0.AddDays(-2.5).AddMinutes(30), T0);
        Assert.Equal((long)(2.5 * 24 * 60), summary.Count);
    }

    [Fact]
    public async Task Writer_DatabaseLockedThenReleased_ReportsLockedThenRecoversLosingNothing()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        await using var writer = NewWriter(db, new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(20), BusyTimeout = TimeSpan.FromMilliseconds(50), RetryDelay = TimeSpan.FromMilliseconds(20) });
        writer.Start();
        var other = new SqliteConnection($"Data Source={_temp.DatabasePath};Pooling=False");
        other.Open();
        other.Execute("BEGIN EXCLUSIVE;");
        for (var i = 0; i < 50; i++)
        {
            writer.TryEnqueue(Poll(T0.AddSeconds(i).ToUnixTimeMilliseconds(), ("up", 1)));
        }

        var flush = writer.FlushAsync();
        var waited = 0;
        while (writer.Health == StorageHealth.Ok && waited++ < 500)
        {
            await Task.Delay(10);
        }

        Assert.Equal(StorageHealth.Locked, writer.Health);
        Assert.Contains("locked", writer.LastError);
        Assert.False(flush.IsCompleted);
        other.Execute("COMMIT;");
        other.Dispose();

        await flush.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Null(writer.LastError);
        Assert.True(writer.WriteFailures > 0);
        Assert.Equal(0, writer.PollsDropped);
        var reader = new SampleReader(db);
        Assert.Equal(50, reader.Read("web", "up", T0, T0.AddMinutes(1)).Count);
        Assert.Equal(50, reader.Summarize("web", "up", T0, T0.AddDays(2)).Count);
    }

    private static Dictionary<(long Series, long Start), SeriesSummary> ReadRollups(SqliteConnection c, string table)
    {
        var result = new Dictionary<(long, long), SeriesSummary>();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT series_id, start_ts, count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch FROM {table};";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            result[(r.GetInt64(0), r.GetInt64(1))] = SeriesSummary.Restore(r.GetInt64(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetInt64(6), r.GetDouble(7), r.GetInt64(8), r.GetDouble(9), r.GetDouble(10), QuantileSketch.FromBytes((byte[])r.GetValue(11)));
        }

        return result;
    }
}
