using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;
using Roadmap.Sources.Tests.Sql;
using Roadmap.Storage.Postgres;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>
/// The PostgreSQL layout: day and month partitions created ahead of time and on demand (an insert never fails for lack
/// of one, also after a rolled-back batch took its new partition with it), retention by dropping whole partitions,
/// polls with the tick and node, and a batch written again adding nothing.
/// </summary>
public sealed class PostgresPartitionTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A writer on the system clock whose own retention keeps everything these tests write (decades old included).</summary>
    private static BatchedWriter Writer(IRoadmapStorage db, StorageOptions options)
    {
        options.RawRetention = options.RollupRetention = TimeSpan.FromDays(100 * 365);
        return new(db, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
    }

    private static PollRecord Poll(DateTimeOffset at, double value, long? scheduled = null) =>
        new("web", at.ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("up", value)], scheduled);

    [Fact]
    public void Open_Now_CreatesTheDaysAndMonthsAheadOfEveryTable()
    {
        using var backend = new PostgresTestBackend(server, new FakeTimeProvider(Now));
        backend.Open();

        foreach (var table in new[] { "samples", "polls" })
        {
            Assert.Equal(
                [$"{table}_p20261129", $"{table}_p20261130", $"{table}_p20261201", $"{table}_p20261202", $"{table}_p20261203"],
                backend.PartitionsOf(table));
        }

        foreach (var table in new[] { "rollups_hour", "rollups_day", "evaluations" })
        {
            Assert.Equal([$"{table}_p202611", $"{table}_p202612"], backend.PartitionsOf(table));
        }
    }

    [Fact]
    public async Task Writer_SamplesYearsBeforeAndAfterThePartitionsAhead_CreatesTheirPartitionsAndStoresThem()
    {
        using var backend = new PostgresTestBackend(server, new FakeTimeProvider(Now));
        var db = backend.Open();
        var old = new DateTimeOffset(2019, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var future = new DateTimeOffset(2031, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await using (var writer = Writer(db, new StorageOptions()))
        {
            writer.Start();
            writer.TryEnqueue(Poll(old, 1));
            writer.TryEnqueue(Poll(future, 2));
            await writer.FlushAsync();
        }

        db.Evaluations.Append([new KpiEvaluation("i", "k", old, 0.5, 1, false, KpiStatus.Missed, null, 1, "test")]);

        Assert.Equal(2, backend.Count("samples"));
        Assert.Single(db.Samples.Read("web", "up", old.AddDays(-1), old.AddDays(1)));
        Assert.Equal([new Point(old.ToUnixTimeMilliseconds(), 1)], db.Samples.Read("web", "up", old, old));
        Assert.Equal([new Point(future.ToUnixTimeMilliseconds(), 2)], db.Samples.Read("web", "up", future, future));
        Assert.Contains("samples_p20190304", backend.PartitionsOf("samples"));
        Assert.Contains("polls_p20310102", backend.PartitionsOf("polls"));
        Assert.Contains("rollups_hour_p201903", backend.PartitionsOf("rollups_hour"));
        // The future sample's hour has not closed on the writer's clock, so its day has no rollup yet (the writer folds
        // an hour into its day when the hour closes); the old sample's hour has, and its day's partition was made.
        Assert.Contains("rollups_hour_p203101", backend.PartitionsOf("rollups_hour"));
        Assert.Contains("rollups_day_p201903", backend.PartitionsOf("rollups_day"));
        Assert.Contains("evaluations_p201903", backend.PartitionsOf("evaluations"));
        Assert.Single(db.Evaluations.History("i", "k", old, old));
    }

    [Fact]
    public async Task Open_NewDatabase_CreatesEveryDayRollupPartitionWithRoomForUpdatesAlsoOnDemand()
    {
        using var backend = new PostgresTestBackend(server, new FakeTimeProvider(Now));
        var db = backend.Open();
        await using (var writer = Writer(db, new StorageOptions()))
        {
            writer.Start();
            writer.TryEnqueue(Poll(new DateTimeOffset(2019, 3, 4, 5, 6, 7, TimeSpan.Zero), 1));
            await writer.FlushAsync();
        }

        var options = RollupPartitionOptions(backend);
        Assert.Contains("rollups_hour_p201903", options.Keys); // created on demand, besides the months ahead
        Assert.Contains("rollups_day_p201903", options.Keys);
        AssertFillFactors(options);
    }

    [Fact]
    public async Task Open_DatabaseAtVersion2_SetsTheFillFactorOnItsDayRollupPartitionsAndAnswersTheSame()
    {
        var time = new FakeTimeProvider(Now);
        using var backend = new PostgresTestBackend(server, time);
        var db = backend.Open();
        var old = new DateTimeOffset(2019, 3, 4, 5, 6, 7, TimeSpan.Zero);
        await using (var writer = Writer(db, new StorageOptions()))
        {
            writer.Start();
            for (var m = 0; m < 3 * 24 * 60; m += 7)
            {
                writer.TryEnqueue(Poll(old.AddMinutes(m), m % 13));
            }

            await writer.FlushAsync();
        }

        var window = db.Samples.Summarize("web", "up", old.AddHours(-1), old.AddDays(3));
        // Version 2 as it was: the same tables and partitions, created without storage parameters.
        foreach (var partition in RollupPartitionOptions(backend).Keys)
        {
            backend.Execute($"ALTER TABLE {partition} RESET (fillfactor);");
        }

        backend.Execute("DELETE FROM roadmap_schema WHERE version > 2;");
        Assert.All(RollupPartitionOptions(backend).Values, o => Assert.Equal("", o));

        var reopened = backend.Open();

        Assert.Equal(PostgresSchema.Latest, ((PostgresStorage)reopened).SchemaVersion);
        Assert.Equal(4, PostgresSchema.Latest);
        AssertFillFactors(RollupPartitionOptions(backend));
        var again = reopened.Samples.Summarize("web", "up", old.AddHours(-1), old.AddDays(3));
        Assert.Equal((window.Count, window.Sum, window.Min, window.Max, window.Sketch.Quantile(0.95)), (again.Count, again.Sum, again.Min, again.Max, again.Sketch.Quantile(0.95)));
    }

    [Fact]
    public async Task Writer_OpenDayRewrittenByEveryBatch_KeepsItsRowsInTheirOwnPages()
    {
        using var backend = new PostgresTestBackend(server, new FakeTimeProvider(Now));
        var db = backend.Open();
        var day = new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
        const int series = 400;
        var sizes = new List<long>();
        await using (var writer = Writer(db, new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }))
        {
            writer.Start();
            // A batch a minute of one hour, each holding a sample of every series: every batch rewrites every series'
            // day row (and hour row), as the writer does all day long.
            for (var minute = 0; minute < 40; minute++)
            {
                for (var s = 0; s < series; s++)
                {
                    writer.TryEnqueue(new PollRecord($"source-{s}", day.AddMinutes(minute).ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("latency", 1 + ((s * 7 + minute * 13) % 97))]));
                }

                await writer.FlushAsync();
                sizes.Add(backend.Scalar<long>("SELECT pg_relation_size('rollups_day_p202611');"));
            }
        }

        // Its rows grow with their sketches, so the partition may grow a little; a rewrite that cannot stay in its
        // page leaves a dead version per row per batch instead, many times the live rows by the last batch.
        Assert.Equal(series, backend.Scalar<long>("SELECT count(*) FROM rollups_day;"));
        Assert.True(sizes[^1] <= sizes[0] * 4, $"the day rollups grew from {sizes[0]} to {sizes[^1]} bytes: {string.Join(", ", sizes)}");
    }

    /// <summary>Every partition of the rollup tables with its storage parameters as the server holds them.</summary>
    private static Dictionary<string, string> RollupPartitionOptions(PostgresTestBackend backend)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var table in new[] { "rollups_hour", "rollups_day" })
        {
            foreach (var partition in backend.PartitionsOf(table))
            {
                options[partition] = backend.Scalar<string>($"SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE relname = '{partition}';") ?? "";
            }
        }

        return options;
    }

    /// <summary>The day rollup partitions leave room in their pages; the hour ones keep the server's default.</summary>
    private static void AssertFillFactors(Dictionary<string, string> options)
    {
        Assert.Contains(options.Keys, k => k.StartsWith("rollups_day_", StringComparison.Ordinal));
        Assert.Contains(options.Keys, k => k.StartsWith("rollups_hour_", StringComparison.Ordinal));
        Assert.All(options, kv => Assert.Equal(
            kv.Key.StartsWith("rollups_day_", StringComparison.Ordinal) ? $"fillfactor={PartitionedTable.DayFillFactor}" : "",
            kv.Value));
    }

    [Fact]
    public async Task Writer_BatchFailsAfterCreatingAPartition_IsLockedThenRetriedCreatingThePartitionAgain()
    {
        using var backend = new PostgresTestBackend(server, new FakeTimeProvider(Now));
        var db = backend.Open();
        var late = new DateTimeOffset(2025, 6, 7, 8, 0, 0, TimeSpan.Zero);
        await using var writer = Writer(db, new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(20), BusyTimeout = TimeSpan.FromMilliseconds(100), RetryDelay = TimeSpan.FromMilliseconds(20), MaxRetryDelay = TimeSpan.FromMilliseconds(200) });
        writer.Start();

        // Another session holds the hour rollups: the batch creates the samples' and polls' partitions of a new day,
        // then waits for the lock past its timeout and rolls back, taking those partitions with it.
        using var other = new Npgsql.NpgsqlConnection(backend.ConnectionString + ";Pooling=false");
        other.Open();
        using var tx = other.BeginTransaction();
        using (var lockDays = new Npgsql.NpgsqlCommand("LOCK TABLE rollups_hour IN ACCESS EXCLUSIVE MODE;", other, tx))
        {
            lockDays.ExecuteNonQuery();
        }

        writer.TryEnqueue(Poll(late, 7));
        var flush = writer.FlushAsync();
        for (var waited = 0; writer.Health == StorageHealth.Ok && waited < 3000; waited++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(StorageHealth.Locked, writer.Health);
        Assert.False(flush.IsCompleted);
        Assert.DoesNotContain("samples_p20250607", backend.PartitionsOf("samples"));
        tx.Commit();

        await flush.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Equal([new Point(late.ToUnixTimeMilliseconds(), 7)], db.Samples.Read("web", "up", late, late));
        Assert.Contains("samples_p20250607", backend.PartitionsOf("samples"));
        Assert.Equal(0, writer.PollsDropped);
    }

    [Fact]
    public async Task Writer_PollsWithTheirTick_StoreScheduledTimeAndNode()
    {
        using var backend = new PostgresTestBackend(server);
        var db = backend.Open(backend.Options(o => o.Node = "replica-7"));
        var scheduled = Now.AddMilliseconds(-3);
        await using (var writer = Writer(db, new StorageOptions()))
        {
            writer.Start();
            writer.TryEnqueue(Poll(Now, 1, scheduled.ToUnixTimeMilliseconds()));
            writer.TryEnqueue(Poll(Now.AddSeconds(1), 1));
            await writer.FlushAsync();
        }

        Assert.Equal(scheduled.ToUnixTimeMilliseconds(), backend.Scalar<long>($"SELECT scheduled_ts FROM polls WHERE ts = {Now.ToUnixTimeMilliseconds()} AND node = 'replica-7';"));
        Assert.Equal(1, backend.Scalar<long>("SELECT count(*) FROM polls WHERE scheduled_ts IS NULL AND node = 'replica-7';"));
    }

    [Fact]
    public async Task Writer_SameTimestampsInALaterBatch_ReplaceTheSamplesAndAddNoPoll()
    {
        using var backend = new PostgresTestBackend(server);
        var db = backend.Open();
        await using var writer = Writer(db, new StorageOptions());
        writer.Start();
        for (var i = 0; i < 10; i++)
        {
            writer.TryEnqueue(Poll(Now.AddSeconds(i), i));
        }

        await writer.FlushAsync();

        // The same polls again (as after a commit whose answer was lost), with new values, plus one new poll.
        for (var i = 0; i < 11; i++)
        {
            writer.TryEnqueue(Poll(Now.AddSeconds(i), 100 + i));
        }

        await writer.FlushAsync();

        Assert.Equal(Enumerable.Range(0, 11).Select(i => 100.0 + i), db.Samples.Read("web", "up", Now, Now.AddMinutes(1)).Select(p => p.Value));
        Assert.Equal(11, db.Samples.CountPolls("web"));
        Assert.Equal(11, db.Samples.Summarize("web", "up", Now.AddHours(-12), Now.AddHours(12)).Count);
        Assert.Equal(Enumerable.Range(0, 11).Sum(i => 100.0 + i), backend.Rollups(RollupLevel.Hour).Values.Sum(s => s.Sum));
    }

    [Fact]
    public async Task Prune_PastRetention_DropsWholePartitionsAndAPrunedDayTakesLateSamplesAgain()
    {
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(t0);
        using var backend = new PostgresTestBackend(server, time);
        var db = backend.Open();
        await WriteFiveDaysAsync(db, t0);

        var options = new StorageOptions { RawRetention = TimeSpan.FromDays(2), RollupRetention = TimeSpan.FromDays(30), PruneInterval = TimeSpan.FromHours(1) };
        using var session = db.OpenWriteSession(options, time);
        var removed = PruneAll(session);

        // Raw: the days ending at or before t0 - 2 days go whole (Oct 27, 28, 29); Oct 30 and 31 stay whole.
        Assert.Equal(3 * 24 * 60 * 2, removed); // samples and polls
        Assert.DoesNotContain(backend.PartitionsOf("samples"), p => string.CompareOrdinal(p, "samples_p20261030") < 0);
        Assert.Contains("samples_p20261030", backend.PartitionsOf("samples"));
        Assert.Equal(2 * 24 * 60, backend.Count("samples"));
        Assert.Equal(2 * 24 * 60, backend.Count("polls"));
        Assert.Equal(5 * 24, backend.Count("rollups_hour")); // the month of October is younger than 30 days at t0

        // A window starting mid-hour in a dropped day: its edge hour's rollup stands in whole for the raw samples that
        // are gone (the documented approximation: 30 minutes before the window count too).
        var summary = db.Samples.Summarize("web", "up", t0.AddDays(-2).AddHours(-13).AddMinutes(-30), t0);
        Assert.Equal((2 * 24 * 60) + (14 * 60), summary.Count);

        // Forty days later October's rollups are past retention: their month partitions go whole.
        time.Advance(TimeSpan.FromDays(40));
        PruneAll(session);
        Assert.DoesNotContain("rollups_hour_p202610", backend.PartitionsOf("rollups_hour"));
        Assert.DoesNotContain("rollups_day_p202610", backend.PartitionsOf("rollups_day"));
        Assert.True(backend.Scalar<long>("SELECT closed_days_version FROM series;") > 0); // kept merges of those days are stale
        Assert.Equal(0, backend.Count("rollups_hour"));
        Assert.Equal(0, backend.Count("samples"));
        Assert.Contains("samples_p20261211", backend.PartitionsOf("samples")); // and the days ahead of the new now

        // A late sample for a dropped day finds its partition created again.
        await using (var writer = Writer(db, Hot))
        {
            writer.Start();
            writer.TryEnqueue(Poll(t0.AddDays(-4), 5));
            await writer.FlushAsync();
        }

        Assert.Equal([new Point(t0.AddDays(-4).ToUnixTimeMilliseconds(), 5)], db.Samples.Read("web", "up", t0.AddDays(-5), t0));
    }

    /// <summary>A writer's options under which nothing is ever closed for compaction: the samples stay hot rows.</summary>
    private static readonly StorageOptions Hot = new() { CompactGrace = TimeSpan.FromDays(3650) };

    [Fact]
    public async Task Compact_SealedDays_TruncatesTheirPartitionsAndRetentionDeletesWholeChunks()
    {
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(t0.AddHours(1));
        using var backend = new PostgresTestBackend(server, time);
        var db = backend.Open();
        await WriteFiveDaysAsync(db, t0);

        var partitionBytes = backend.Scalar<long>("SELECT pg_relation_size('samples_p20261028');");
        var options = new StorageOptions { RawRetention = TimeSpan.FromDays(2.5), PruneInterval = TimeSpan.FromHours(1) };
        using var session = db.OpenWriteSession(options, time);
        while (session.Compact().Chunks > 0)
        {
        }

        // Sealed: a chunk per day, no hot row left, and the sealed days' partitions hold no pages any more.
        Assert.Equal(5, backend.Count("chunks"));
        Assert.Equal(0, backend.HotSamples());
        Assert.True(partitionBytes > 0);
        Assert.Equal(0, backend.Scalar<long>("SELECT pg_relation_size('samples_p20261028');"));
        Assert.Equal(5 * 24 * 60, db.Samples.Read("web", "up", t0.AddDays(-6), t0).Count);

        // The raw cut falls at noon on Oct 29: Oct 27 and 28 go whole, Oct 29 stays whole.
        PruneAll(session);
        Assert.Equal(3, backend.Count("chunks"));
        Assert.Equal(3 * 24 * 60, db.Samples.Read("web", "up", t0.AddDays(-6), t0).Count);
    }

    /// <summary>One sample a minute for the 5 days before <paramref name="t0"/>, left hot.</summary>
    private static async Task WriteFiveDaysAsync(IRoadmapStorage db, DateTimeOffset t0)
    {
        await using var writer = Writer(db, Hot);
        writer.Start();
        for (var m = 5 * 24 * 60; m > 0; m--)
        {
            writer.TryEnqueue(Poll(t0.AddMinutes(-m), 1));
        }

        await writer.FlushAsync();
    }

    private static long PruneAll(IStorageWriteSession session)
    {
        long removed = 0;
        for (var i = 0; i < 100; i++)
        {
            removed += session.Prune();
        }

        return removed;
    }
}
