using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

/// <summary>The shared hour and day rollups and the window summaries read from them; one concrete subclass per backend.</summary>
public abstract class RollupTests(StorageTestBackend backend) : IDisposable
{
    protected static readonly DateTimeOffset T0 = TestClock.RecentMidnight;

    protected StorageTestBackend Backend { get; } = backend;

    public void Dispose()
    {
        Backend.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static BatchedWriter NewWriter(IRoadmapStorage db, StorageOptions? options = null, TimeProvider? time = null) =>
        new(db, options ?? new StorageOptions(), time ?? TimeProvider.System, NullLogger<BatchedWriter>.Instance);

    protected static PollRecord Poll(long ts, params (string Signal, double Value)[] samples) =>
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
        var db = Backend.Open();
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

        var raw = Backend.Samples();
        Assert.Equal((2 * (polls.Count - 2)) + 1, raw.Count); // the repeated ts replaced a sample instead of adding one
        // The writer's compactor seals the closed days as it goes: a day chunk answers for its day's hours, which are
        // dropped (and a partial one a late sample leaves is not authoritative).
        var sealedDays = Backend.DayChunks();
        foreach (var level in new[] { RollupLevel.Hour, RollupLevel.Day })
        {
            var size = level.SizeMs;
            var expected = raw.GroupBy(r => (r.Series, Start: r.Ts - (r.Ts % size)))
                .Where(g => level == RollupLevel.Day || !sealedDays.Contains((g.Key.Series, RollupLevel.Day.StartOf(g.Key.Start))))
                .ToDictionary(g => g.Key, g => SeriesSummary.FromPoints(g.Select(r => new Point(r.Ts, r.Value))));
            var rows = Backend.Rollups(level)
                .Where(r => level == RollupLevel.Day || !sealedDays.Contains((r.Key.Series, RollupLevel.Day.StartOf(r.Key.Start))))
                .ToDictionary();
            Assert.Equal(expected.Keys.Order(), rows.Keys.Order());
            foreach (var (key, want) in expected)
            {
                var got = rows[key];
                AssertSameNumbers(want, got);
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
        var db = Backend.Open();
        await using (var writer = NewWriter(db))
        {
            writer.Start();
            foreach (var p in Workload())
            {
                writer.TryEnqueue(p);
            }
        }

        var reader = db.Samples;
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
    public async Task Summarize_MonthLongWindow_SketchAndNumbersEqualThoseOfEveryRawPoint()
    {
        // A long window is mostly day rollups, their sketch bytes merged one after another: the merged sketch must be
        // the very sketch of the window's raw points (both signs and zeros), and the numbers theirs.
        var db = Backend.Open();
        var start = T0.AddDays(-30);
        var random = new Random(11);
        await using (var writer = NewWriter(db, new StorageOptions { RawRetention = TimeSpan.FromDays(400) }))
        {
            writer.Start();
            for (var i = 0; i < 36 * 24 * 6; i++)
            {
                var value = i % 89 == 0 ? 0 : Math.Round(Math.Exp((random.NextDouble() * 6) - 3), 4) * (i % 97 == 0 ? -1 : 1);
                writer.TryEnqueue(Poll(start.AddMinutes(10 * i).ToUnixTimeMilliseconds(), ("latency", value)));
            }
        }

        var from = start.AddMinutes(13);
        var to = from.AddDays(34).AddMinutes((7 * 60) + 5);
        var points = db.Samples.Read("web", "latency", from, to);
        using var session = db.Samples.OpenSession();
        var summary = session.Summarize("web", "latency", from, to);
        var exact = SeriesSummary.FromPoints(points);

        Assert.Null(summary.ExactValues); // read from rollups
        Assert.InRange(points.Count, 34 * 24 * 6, 35 * 24 * 6); // every raw point is still there
        Assert.Equal(exact.Sketch.ToBytes(), summary.Sketch.ToBytes());
        AssertSameNumbers(exact, summary);
    }

    protected static void AssertSameNumbers(SeriesSummary want, SeriesSummary got)
    {
        Assert.Equal(want.Count, got.Count);
        Assert.Equal(want.Sum, got.Sum, 9);
        Assert.Equal(want.Min, got.Min);
        Assert.Equal(want.Max, got.Max);
        Assert.Equal(want.FirstTimestampMs, got.FirstTimestampMs);
        Assert.Equal(want.FirstValue, got.FirstValue);
        Assert.Equal(want.LastTimestampMs, got.LastTimestampMs);
        Assert.Equal(want.LastValue, got.LastValue);
        Assert.Equal(want.Increase, got.Increase, 9);
    }

    /// <summary>Two weeks of latency-like values every 10 minutes, ending three days before now, every raw point kept.</summary>
    private async Task<(IRoadmapStorage Db, DateTimeOffset Start)> TwoWeeksAsync()
    {
        var db = Backend.Open();
        var start = T0.AddDays(-10);
        var random = new Random(5);
        await using var writer = NewWriter(db, new StorageOptions { RawRetention = TimeSpan.FromDays(400) });
        writer.Start();
        for (var i = 0; i < 14 * 24 * 6; i++)
        {
            writer.TryEnqueue(Poll(start.AddMinutes(10 * i).ToUnixTimeMilliseconds(), ("latency", Math.Round(Math.Exp(random.NextDouble() * 4), 4))));
        }

        return (db, start);
    }

    protected static SeriesSummary Round(IRoadmapStorage db, DateTimeOffset from, DateTimeOffset to, WindowReads reads = WindowReads.Exact)
    {
        using var session = db.Samples.OpenSession();
        return session.Summarize("web", "latency", from, to, reads);
    }

    /// <summary>Samples every 10 s from 01:00 to 02:30 of a day five days after <see cref="T0"/>, written by a writer
    /// whose clock says 02:30 (so nothing of that day is sealed): the window's last hour is the open hour.</summary>
    protected async Task<(IRoadmapStorage Db, DateTimeOffset Now)> OpenHourAsync()
    {
        var db = Backend.Open();
        var now = T0.AddDays(5).AddHours(2).AddMinutes(30);
        var random = new Random(3);
        await using var writer = NewWriter(db, time: new FakeTimeProvider(now));
        writer.Start();
        for (var ts = now.AddMinutes(-90); ts < now; ts = ts.AddSeconds(10))
        {
            writer.TryEnqueue(Poll(ts.ToUnixTimeMilliseconds(), ("latency", Math.Round(Math.Exp(random.NextDouble() * 4), 4))));
        }

        return (db, now);
    }

    /// <summary>The samples of one series with from &lt;= ts &lt; to, oldest first.</summary>
    protected List<Point> StoredPoints(long series, long from, long to) =>
        [.. Backend.Samples().Where(s => s.Series == series && s.Ts >= from && s.Ts < to).OrderBy(s => s.Ts).Select(s => new Point(s.Ts, s.Value))];

    /// <summary>Stores as the hour's rollup row the summary of its samples before <paramref name="until"/> only: a row
    /// left behind its samples, as a process that stopped between two rewrites of an open hour's row leaves it.</summary>
    protected void LagHourRow(IRoadmapStorage db, long series, long hour, long until)
    {
        using var session = db.OpenWriteSession(new StorageOptions(), TimeProvider.System);
        session.Begin();
        session.UpsertRollups(RollupLevel.Hour, [new RollupRow(series, hour, SeriesSummary.FromPoints(StoredPoints(series, hour, until)))]);
        session.Commit();
    }

    private static async Task Until(Func<bool> done, string what)
    {
        for (var i = 0; i < 300 && !done(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(done(), what);
    }

    [Fact]
    public async Task Writer_FillingAnOpenHour_RewritesItsRowOnlyNowAndThenAndReadsStayExact()
    {
        // A batch rewrote the row of every open hour it touched: about a kilobyte per series twice a second. Where
        // the backend reads past a row (SQLite) the writer now stores it with the hour's first samples and then only
        // every OpenHourRollupEvery; a window read meanwhile still counts every stored sample inside it.
        var db = Backend.Open();
        var now = T0.AddDays(5).AddHours(2).AddMinutes(30);
        var time = new FakeTimeProvider(now);
        var random = new Random(5);
        await using var writer = NewWriter(db, new StorageOptions { MaxBatchSamples = 1 }, time);
        writer.Start();
        var polls = 0;
        for (var ts = now.AddMinutes(-90); ts < now; ts = ts.AddSeconds(10), polls++)
        {
            writer.TryEnqueue(Poll(ts.ToUnixTimeMilliseconds(), ("latency", Math.Round(Math.Exp(random.NextDouble() * 4), 4))));
        }

        await Until(() => writer.SamplesWritten == polls, "every poll written");
        var hour = RollupLevel.Hour.StartOf(now.ToUnixTimeMilliseconds());
        var series = Backend.Rollups(RollupLevel.Hour).Keys.Single(k => k.Start == hour).Series;
        var open = StoredPoints(series, hour, hour + RollupLevel.Hour.SizeMs);
        var closed = StoredPoints(series, hour - RollupLevel.Hour.SizeMs, hour);

        // The hour that ended is whole; the open one's row holds its first batch only (one sample a batch here).
        Assert.Equal(360, closed.Count);
        Assert.Equal(180, open.Count);
        Assert.Equal(closed.Count, Backend.Rollups(RollupLevel.Hour)[(series, hour - RollupLevel.Hour.SizeMs)].Count);
        Assert.Equal(db.ReadsPastHourRollups ? 1 : open.Count, Backend.Rollups(RollupLevel.Hour)[(series, hour)].Count);

        // And keeps no summary of it in memory: its sketch is read back from the row and the samples when written.
        Assert.Equal(db.ReadsPastHourRollups ? 0 : 1, writer.OpenHourSummaries);

        foreach (var (fromMinutes, toSeconds, reads) in new (int, int, WindowReads)[]
        {
            (-2 * 24 * 60, 0, WindowReads.Exact),
            (-2 * 24 * 60, -7 * 60, WindowReads.Exact),
            (-95, 0, WindowReads.SketchQuantiles),
            (-95, -5 * 60, WindowReads.SketchQuantiles),
        })
        {
            // (Ended windows here: a backend may ignore OpenEnded; SqliteRollupTests reads open-ended past a lagging row.)
            var from = now.AddMinutes(fromMinutes);
            var to = now.AddSeconds(toSeconds);
            var points = db.Samples.Read("web", "latency", from, to);
            var exact = SeriesSummary.FromPoints(points);
            var got = Round(db, from, to, reads);
            AssertSameNumbers(exact, got);
            Assert.Equal(exact.Sketch.ToBytes(), got.Sketch.ToBytes());
        }

        // Idle two rewrite intervals later (the interval is stretched per series, up to twice), the writer brings the
        // row up to its samples.
        time.Advance(TimeSpan.FromSeconds(121));
        await Until(() => Backend.Rollups(RollupLevel.Hour)[(series, hour)].Count == open.Count, "the open hour's row rewritten");
        var row = Backend.Rollups(RollupLevel.Hour)[(series, hour)];
        var want = SeriesSummary.FromPoints(open);
        AssertSameNumbers(want, row);
        Assert.Equal(want.Sketch.ToBytes(), row.Sketch.ToBytes());

        // A late sample into the hour that ended, and a second value at the open hour's first ts (the table keeps the
        // later one), each inside what its row already holds: both rows are rebuilt from the table at once.
        writer.TryEnqueue(Poll(hour - (30 * 60_000) + 500, ("latency", 77.0)));
        writer.TryEnqueue(Poll(hour, ("latency", 88.0)));
        polls += 2;
        await Until(() => writer.SamplesWritten == polls, "the late polls written");
        foreach (var start in new[] { hour - RollupLevel.Hour.SizeMs, hour })
        {
            var points = StoredPoints(series, start, start + RollupLevel.Hour.SizeMs);
            var exact = SeriesSummary.FromPoints(points);
            var got = Backend.Rollups(RollupLevel.Hour)[(series, start)];
            Assert.Equal(start == hour ? 180 : 361, points.Count);
            AssertSameNumbers(exact, got);
            Assert.Equal(exact.Sketch.ToBytes(), got.Sketch.ToBytes());
        }
    }

    [Fact]
    public async Task Writer_RestartOnAnOpenHourWhoseRowLagsItsSamples_AddsTheSamplesAfterTheRowFirst()
    {
        // A process that stopped between two rewrites of an open hour's row (a crash) left the row behind its
        // samples; the next writer takes the samples stored after the row before its own, so the row ends whole.
        var (db, now) = await OpenHourAsync();
        var hour = RollupLevel.Hour.StartOf(now.ToUnixTimeMilliseconds());
        var series = Backend.Rollups(RollupLevel.Hour).Keys.Single(k => k.Start == hour).Series;
        LagHourRow(db, series, hour, hour + (10 * 60_000));
        Assert.Equal(60, Backend.Rollups(RollupLevel.Hour)[(series, hour)].Count);

        await using (var writer = NewWriter(db, time: new FakeTimeProvider(now.AddMinutes(5))))
        {
            writer.Start();
            for (var ts = now; ts < now.AddMinutes(5); ts = ts.AddSeconds(10))
            {
                writer.TryEnqueue(Poll(ts.ToUnixTimeMilliseconds(), ("latency", 1.5)));
            }
        }

        var points = StoredPoints(series, hour, hour + RollupLevel.Hour.SizeMs);
        var want = SeriesSummary.FromPoints(points);
        var row = Backend.Rollups(RollupLevel.Hour)[(series, hour)];
        Assert.Equal(210, points.Count);
        AssertSameNumbers(want, row);
        Assert.Equal(want.Sketch.ToBytes(), row.Sketch.ToBytes());
    }

    [Theory]
    [InlineData(-7 * 60 + 3)] // ends inside the open hour, before its last samples
    [InlineData(-1)] // ends a second before the open hour's last sample
    [InlineData(0)] // ends at the open hour's last sample's second
    [InlineData(15 * 60)] // ends after it
    public async Task Summarize_WindowEndingInsideOrAfterTheOpenHour_EqualsItsRawPointsExactly(int endSeconds)
    {
        // A window's last hour may be read from its hour rollup only when every sample of the hour is inside the
        // window: one that ends before the hour's last samples must not count them.
        var (db, now) = await OpenHourAsync();
        var from = now.AddDays(-2);
        var to = now.AddSeconds(-10).AddSeconds(endSeconds);
        var points = db.Samples.Read("web", "latency", from, to);
        var summary = Round(db, from, to);

        Assert.True(points.Count > 400, $"{points.Count} points");
        var exact = SeriesSummary.FromPoints(points);
        AssertSameNumbers(exact, summary);
        Assert.Equal(exact.Sketch.ToBytes(), summary.Sketch.ToBytes());
    }

    [Theory]
    [InlineData(-95, -3)] // a whole hour inside, ragged edges, samples after its end in its last hour
    [InlineData(-400, 0)] // a UTC day boundary inside, ending at the last sample
    [InlineData(-20, -5)] // inside one hour: raw whatever the flags
    [InlineData(-125, 30)] // ending after every sample
    public async Task Summarize_ShortWindowWithSketchQuantiles_NumbersExactQuantileWithinTheSketchsAccuracy(int fromMinutes, int toMinutes)
    {
        // A window shorter than a day whose caller needs no exact quantiles may be read from its hours like a longer
        // one: its numbers stay exact, its sketch is the very sketch of its points, and it keeps no list of values.
        var (db, now) = await OpenHourAsync();
        var from = now.AddMinutes(fromMinutes);
        var to = now.AddSeconds(-10).AddMinutes(toMinutes);
        var points = db.Samples.Read("web", "latency", from, to);
        var summary = Round(db, from, to, WindowReads.SketchQuantiles);

        Assert.True(points.Count > 50, $"{points.Count} points");
        var exact = SeriesSummary.FromPoints(points);
        AssertSameNumbers(exact, summary);
        Assert.Equal(exact.Sketch.ToBytes(), summary.Sketch.ToBytes());
        var exact95 = Aggregates.Compute(Core.Config.Aggregate.P95, points)!.Value;
        Assert.InRange(Aggregates.Compute(Core.Config.Aggregate.P95, summary, null)!.Value, exact95 * 0.99, exact95 * 1.01);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Summarize_ShortWindowWithSketchQuantilesInASealedDay_EqualsItsRawPoints(bool dayBoundaryInside)
    {
        // A past window whose days are sealed into day chunks (their hour rollups dropped) is read raw from the chunks.
        var db = Backend.Open();
        await using (var writer = NewWriter(db))
        {
            writer.Start();
            foreach (var p in Workload())
            {
                writer.TryEnqueue(p);
            }
        }

        using (var session = db.OpenWriteSession(new StorageOptions(), TimeProvider.System))
        {
            while (session.Compact().Chunks > 0)
            {
            }
        }

        var from = dayBoundaryInside ? T0.AddDays(1).AddHours(-3).AddMinutes(-13) : T0.AddDays(1).AddHours(2).AddMinutes(13);
        var to = from.AddHours(7).AddMinutes(5);

        // A late sample in the window's last hour, after its day was sealed: that hour gets a rollup again, of it alone.
        await using (var late = NewWriter(db))
        {
            late.Start();
            late.TryEnqueue(Poll(to.AddMinutes(-2).AddSeconds(1).ToUnixTimeMilliseconds(), ("latency", 4.25)));
        }

        var points = db.Samples.Read("web", "latency", from, to);
        var summary = Round(db, from, to, WindowReads.SketchQuantiles);

        Assert.True(points.Count > 50, $"{points.Count} points");
        Assert.NotEmpty(Backend.DayChunks());
        var exact = SeriesSummary.FromPoints(points);
        AssertSameNumbers(exact, summary);
        Assert.Equal(exact.Sketch.ToBytes(), summary.Sketch.ToBytes());
    }

    [Fact]
    public async Task Summarize_LateSampleIntoAClosedDayBetweenRounds_TheNextRoundCountsIt()
    {
        // The merged day rollups of a long window are kept between rounds (ClosedDaysCache); a late sample for one of
        // those days must still count in the next round, as a process that kept nothing would count it.
        var (db, start) = await TwoWeeksAsync();
        var from = start.AddMinutes(13);
        var to = DateTimeOffset.UtcNow;
        var first = Round(db, from, to);

        await using (var writer = NewWriter(db, new StorageOptions { RawRetention = TimeSpan.FromDays(400) }))
        {
            writer.Start();
            writer.TryEnqueue(Poll(start.AddDays(5).AddMinutes(3).ToUnixTimeMilliseconds(), ("latency", 1e6)));
            await writer.FlushAsync();
        }

        var second = Round(db, from, to);
        var fresh = Round(Backend.Open(), from, to); // a new process: nothing kept

        Assert.Equal(first.Count + 1, second.Count);
        Assert.Equal(1e6, second.Max);
        AssertSameNumbers(fresh, second);
        Assert.Equal(fresh.Sketch.ToBytes(), second.Sketch.ToBytes());
    }

    [Fact]
    public async Task Summarize_ClosedDaysOfALongWindow_KeptBetweenRoundsUntilTheSeriesClosedDaysVersionRises()
    {
        var (db, start) = await TwoWeeksAsync();
        var from = start.AddMinutes(13);
        var to = DateTimeOffset.UtcNow;
        var first = Round(db, from, to);
        var day = start.AddDays(5).ToUnixTimeMilliseconds();

        // Behind the library's back (no version raised): the next round still answers from the merged days it kept...
        Backend.Execute($"DELETE FROM rollups_day WHERE start_ts = {day};");
        var kept = Round(db, from, to);
        Assert.Equal(first.Count, kept.Count);
        Assert.Equal(first.Sketch.ToBytes(), kept.Sketch.ToBytes());

        // ... and once the version rises, as every write of a closed day's rollup raises it, it reads them again.
        Backend.Execute("UPDATE series SET closed_days_version = closed_days_version + 1;");
        var reread = Round(db, from, to);
        Assert.Equal(first.Count - (24 * 6), reread.Count);
        AssertSameNumbers(Round(Backend.Open(), from, to), reread);
    }

    [Fact]
    public async Task Summarize_WindowMovedPastMidnight_KeepsItsWholeBlocksAndRereadsOnlyItsEdges()
    {
        // 80 days hourly: a window over them holds whole 32-day blocks. Moved a day on, it takes its whole blocks from
        // what the round before kept (a day deleted behind the library's back still counts there), and reads its
        // first and last segments again (a day deleted there no longer counts).
        var db = Backend.Open();
        var start = T0.AddDays(-80);
        await using (var writer = NewWriter(db, new StorageOptions { RawRetention = TimeSpan.FromDays(400) }))
        {
            writer.Start();
            for (var i = 0; i < 80 * 24; i++)
            {
                writer.TryEnqueue(Poll(start.AddHours(i).ToUnixTimeMilliseconds(), ("latency", (i % 17) + 0.5)));
            }
        }

        var from = start.AddMinutes(13);
        var to = start.AddDays(78).AddMinutes(20);
        Round(db, from, to);
        var firstDay = start.AddDays(1).ToUnixTimeMilliseconds();
        var segments = ClosedDaysCache.Segments(firstDay, start.AddDays(78).ToUnixTimeMilliseconds());
        var block = segments[1];
        Assert.Equal(ClosedDaysCache.BlockMs, block.To - block.From); // a whole block
        Backend.Execute($"DELETE FROM rollups_day WHERE start_ts = {block.From + (5 * 86_400_000L)};");
        Backend.Execute($"DELETE FROM rollups_day WHERE start_ts = {segments[0].From + 86_400_000L};"); // in the first segment, which moves

        var moved = Round(db, from.AddDays(1), to.AddDays(1));
        var fresh = Round(Backend.Open(), from.AddDays(1), to.AddDays(1)); // a new process: reads what the tables hold

        Assert.Equal(fresh.Count + 24, moved.Count);
    }

    [Fact]
    public void Summarize_UnknownSeries_IsEmpty()
    {
        var reader = Backend.Open().Samples;
        Assert.Equal(0, reader.Summarize("nope", "up", T0, T0.AddDays(30)).Count);
    }

    /// <summary>One batch of samples of web/latency through a write session and <paramref name="rollups"/>, as the
    /// writer does it, at the writer's clock <paramref name="nowMs"/>; the samples are added to <paramref name="all"/>.</summary>
    internal static long WriteBatch(IStorageWriteSession session, Rollups rollups, long nowMs, IEnumerable<(long Ts, double Value)> samples, List<Point> all)
    {
        session.Begin();
        var id = session.SeriesId("web", "latency");
        var rows = samples.Select((x, i) => new SeriesSample(id, x.Ts, x.Value, i)).ToArray();
        session.InsertSamples(rows);
        rollups.Update(session, rows, nowMs);
        session.Commit();
        all.AddRange(rows.Select(r => new Point(r.Ts, r.Value)));
        return id;
    }

    /// <summary>A sample every minute of [from, to) minutes after <paramref name="hour"/>, the values varied.</summary>
    internal static IEnumerable<(long Ts, double Value)> Minutes(long hour, int from, int to) =>
        Enumerable.Range(from, to - from).Select(m => (hour + (m * 60_000L) + 7, Math.Round(1 + Math.Sin(m + (hour / 3_600_000)), 4)));

    private static SeriesSummary Exact(IEnumerable<Point> points) => SeriesSummary.FromPoints(points.OrderBy(p => p.TimestampMs).ToList());

    [Fact]
    public void Rollups_HourStillOpen_DayRollupWaitsUntilTheHourClosesThenHoldsItExactly()
    {
        var db = Backend.Open();
        using var session = db.OpenWriteSession(new StorageOptions(), TimeProvider.System);
        var rollups = new Rollups();
        var day = T0.AddDays(1).ToUnixTimeMilliseconds();
        var h10 = day + (10 * 3_600_000L);
        var h11 = h10 + 3_600_000L;
        var points = new List<Point>();

        // Hour 10 written in two batches while it is open: its hour row is current, its day has no row yet.
        var id = WriteBatch(session, rollups, h10 + (10 * 60_000), Minutes(h10, 0, 10), points);
        WriteBatch(session, rollups, h10 + (20 * 60_000), Minutes(h10, 10, 20), points);
        Assert.Equal(20, Backend.Rollups(RollupLevel.Hour)[(id, h10)].Count);
        Assert.DoesNotContain((id, day), Backend.Rollups(RollupLevel.Day).Keys);

        // The series' first sample of hour 11 closes hour 10: the day is hour 10, exactly.
        WriteBatch(session, rollups, h11 + 500, [(h11 + 100, 5.0)], points);
        var hour10 = Exact(points.Take(20));
        AssertSameNumbers(hour10, Backend.Rollups(RollupLevel.Day)[(id, day)]);
        Assert.Equal(hour10.Sketch.ToBytes(), Backend.Rollups(RollupLevel.Day)[(id, day)].Sketch.ToBytes());

        // No later sample: hour 11 closes by the clock, CloseGraceMs after its end, with a batch of nothing (the idle
        // writer's); not before.
        var h12 = h11 + 3_600_000L;
        Assert.True(rollups.CloseDue(h12 + Rollups.CloseGraceMs));
        WriteBatch(session, rollups, h12 + Rollups.CloseGraceMs - 1, [], points);
        Assert.Equal(20, Backend.Rollups(RollupLevel.Day)[(id, day)].Count);
        WriteBatch(session, rollups, h12 + Rollups.CloseGraceMs, [], points);
        AssertSameNumbers(Exact(points), Backend.Rollups(RollupLevel.Day)[(id, day)]);
        Assert.False(rollups.CloseDue(h12 + Rollups.CloseGraceMs));

        // A late sample into hour 10, between stored ones, after both hours were folded: the day is recomputed with it
        // once that hour has had no sample for the grace.
        WriteBatch(session, rollups, h12 + 60_000, [(h10 + (5 * 60_000) + 30_000, 99.0)], points);
        Assert.True(rollups.CloseDue(h12 + 60_000 + Rollups.CloseGraceMs));
        WriteBatch(session, rollups, h12 + 60_000 + Rollups.CloseGraceMs, [], points);
        var all = Exact(points);
        AssertSameNumbers(all, Backend.Rollups(RollupLevel.Day)[(id, day)]);
        Assert.Equal(all.Sketch.ToBytes(), Backend.Rollups(RollupLevel.Day)[(id, day)].Sketch.ToBytes());
    }

    [Fact]
    public void Rollups_BacklogWrittenLongAfterItsTime_EachHourIsFoldedOnceWhenTheNextBegins()
    {
        // Samples written two days after their time (a backlog after an outage, a backfill): their hour ended long
        // before the writer's clock, but while its samples keep coming it is not closed by the clock. Otherwise every
        // batch would close it and the next reopen it, recomputing the day each time.
        var db = Backend.Open();
        using var session = db.OpenWriteSession(new StorageOptions(), TimeProvider.System);
        var rollups = new Rollups();
        var day = T0.AddDays(1).ToUnixTimeMilliseconds();
        var h10 = day + (10 * 3_600_000L);
        var h11 = h10 + 3_600_000L;
        var now = day + (2 * 86_400_000L);
        var points = new List<Point>();

        var id = WriteBatch(session, rollups, now, Minutes(h10, 0, 20), points);
        WriteBatch(session, rollups, now + 1_000, Minutes(h10, 20, 40), points);
        Assert.DoesNotContain((id, day), Backend.Rollups(RollupLevel.Day).Keys);
        Assert.Equal(40, Backend.Rollups(RollupLevel.Hour)[(id, h10)].Count);

        // Hour 11's first samples close hour 10: the day is its 60 samples.
        WriteBatch(session, rollups, now + 2_000, Minutes(h10, 40, 60).Concat(Minutes(h11, 0, 10)), points);
        var hour10 = Exact(points.Take(60));
        AssertSameNumbers(hour10, Backend.Rollups(RollupLevel.Day)[(id, day)]);
        Assert.Equal(hour10.Sketch.ToBytes(), Backend.Rollups(RollupLevel.Day)[(id, day)].Sketch.ToBytes());

        // Nothing more comes: hour 11 closes once its last write is the grace old.
        WriteBatch(session, rollups, now + 2_000 + Rollups.CloseGraceMs - 1, [], points);
        Assert.Equal(60, Backend.Rollups(RollupLevel.Day)[(id, day)].Count);
        WriteBatch(session, rollups, now + 2_000 + Rollups.CloseGraceMs, [], points);
        AssertSameNumbers(Exact(points), Backend.Rollups(RollupLevel.Day)[(id, day)]);
    }

    [Fact]
    public void Rollups_ProcessGoneWhileAnHourWasOpen_TheNextProcessFoldsThatHourWithItsOwnFirst()
    {
        // A process writes 10:00-10:30 and stops without closing hour 10 (killed). The next one starts at 11:05; its
        // first fold of the series (hour 11, at 12:00) recomputes the day from the hour rows, hour 10 included.
        var db = Backend.Open();
        var day = T0.AddDays(1).ToUnixTimeMilliseconds();
        var h10 = day + (10 * 3_600_000L);
        var h11 = h10 + 3_600_000L;
        var h12 = h11 + 3_600_000L;
        var points = new List<Point>();
        long id;
        using (var session = db.OpenWriteSession(new StorageOptions(), TimeProvider.System))
        {
            id = WriteBatch(session, new Rollups(), h10 + (31 * 60_000), Minutes(h10, 0, 31), points);
        }

        using (var session = db.OpenWriteSession(new StorageOptions(), TimeProvider.System))
        {
            var rollups = new Rollups();
            WriteBatch(session, rollups, h11 + (6 * 60_000), Minutes(h11, 5, 6), points);
            WriteBatch(session, rollups, h11 + (41 * 60_000), Minutes(h11, 6, 40), points);
            Assert.DoesNotContain((id, day), Backend.Rollups(RollupLevel.Day).Keys);
            WriteBatch(session, rollups, h12 + 200, [(h12 + 100, 3.0)], points);
        }

        var want = Exact(points.Where(p => p.TimestampMs < h12));
        AssertSameNumbers(want, Backend.Rollups(RollupLevel.Day)[(id, day)]);
        Assert.Equal(31 + 35, Backend.Rollups(RollupLevel.Day)[(id, day)].Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(60_000)]
    public void Rollups_HoursOfManySeriesCloseInOneBatch_RowsGoOutInSlicesAndEachDayHoldsItsHoursExactly(long rewriteMs)
    {
        // At an hour's turn every series closes its hour in the same batch or two: the batch writes its rollup rows,
        // and folds the closed hours into their days, a slice at a time (here 4), instead of holding them all. One
        // series (s3) also gets a late sample into its closed hour 9 in that batch: its two folds of one day (the
        // late hour's recompute, then hour 10's append) fall into two slices.
        var db = Backend.Open();
        using var inner = db.OpenWriteSession(new StorageOptions(), TimeProvider.System);
        var session = new RowCountingSession(inner);
        var rollups = new Rollups(rewriteMs, sliceRows: 4);
        var day = T0.AddDays(1).ToUnixTimeMilliseconds();
        var h9 = day + (9 * 3_600_000L);
        var h10 = h9 + 3_600_000L;
        var h11 = h10 + 3_600_000L;
        var points = new Dictionary<long, List<Point>>();

        void Batch(long nowMs, IEnumerable<(long Series, long Ts, double Value)> samples)
        {
            session.Begin();
            var rows = samples.OrderBy(x => x.Series).ThenBy(x => x.Ts).Select((x, i) => new SeriesSample(x.Series, x.Ts, x.Value, i)).ToArray();
            session.InsertSamples(rows);
            rollups.Update(session, rows, nowMs);
            session.Commit();
            foreach (var r in rows)
            {
                points[r.Series].Add(new Point(r.Ts, r.Value));
            }
        }

        session.Begin();
        var ids = Enumerable.Range(0, 10).Select(k => session.SeriesId("web", $"s{k}")).ToArray();
        session.Commit();
        foreach (var id in ids)
        {
            points[id] = [];
        }

        var late = ids[3];
        Batch(h9 + (40 * 60_000), ids.SelectMany(id => Minutes(h9, 0, 40).Select(m => (id, m.Ts, m.Value - id))));
        Batch(h10 + (30 * 60_000), ids.SelectMany(id => Minutes(h10, 0, 30).Select(m => (id, m.Ts, m.Value + id))));
        session.MostRows.Clear();
        session.Combined.Clear();

        // Hour 11's first samples close every series' hour 10 (folded by appending it to the day, which holds hour 9),
        // and s3's late sample reopens its hour 9.
        Batch(h11 + 1_000, ids.Select(id => (id, h11 + 100, 5.0)).Append((late, h9 + (50 * 60_000) + 30_000, 99.0)));

        // The days go out 4 at a time; so do the hours where they are lean (their summaries are read back for the
        // write). Hours kept in memory go out in one call: slicing them would save no memory.
        Assert.InRange(session.MostRows[RollupLevel.Day], 1, 4);
        if (rewriteMs > 0)
        {
            Assert.InRange(session.MostRows[RollupLevel.Hour], 1, 4);
        }
        else
        {
            Assert.True(session.MostRows[RollupLevel.Hour] >= ids.Length, $"hour rows in one call: {session.MostRows[RollupLevel.Hour]}");
        }

        // Only s3's day is rebuilt from its hours (once for the late sample, once more when hour 10's append finds the
        // hour already in the day row the first slice wrote); the others' hour 10 is appended to their day.
        Assert.Equal([late, late], session.Combined);
        var days = Backend.Rollups(RollupLevel.Day);
        foreach (var id in ids)
        {
            var want = Exact(points[id].Where(p => p.TimestampMs < h11));
            Assert.Equal(id == late ? 40 + 1 + 30 : 40 + 30, days[(id, day)].Count);
            AssertSameNumbers(want, days[(id, day)]);
            Assert.Equal(want.Sketch.ToBytes(), days[(id, day)].Sketch.ToBytes());
        }
    }

    /// <summary>A write session that counts the most rollup rows one <see cref="IStorageWriteSession.UpsertRollups"/>
    /// was handed, and passes every call on.</summary>
    private sealed class RowCountingSession(IStorageWriteSession inner) : IStorageWriteSession
    {
        /// <summary>The most rows of one call, by level.</summary>
        public Dictionary<RollupLevel, int> MostRows { get; } = [];

        /// <summary>The series of each <see cref="IStorageWriteSession.CombineRollups"/> (a day rebuilt from its hours).</summary>
        public List<long> Combined { get; } = [];

        public void UpsertRollups(RollupLevel level, IReadOnlyList<RollupRow> rows)
        {
            MostRows[level] = Math.Max(MostRows.GetValueOrDefault(level), rows.Count);
            inner.UpsertRollups(level, rows);
        }

        public void Begin() => inner.Begin();

        public void Commit() => inner.Commit();

        public void Rollback() => inner.Rollback();

        public void InsertPolls(ReadOnlySpan<PollRow> polls) => inner.InsertPolls(polls);

        public long SeriesId(string source, string signal) => inner.SeriesId(source, signal);

        public void InsertSamples(ReadOnlySpan<SeriesSample> rows) => inner.InsertSamples(rows);

        public IReadOnlyList<Point> ReadSamples(long series, long fromMs, long toMs) => inner.ReadSamples(series, fromMs, toMs);

        public bool HasDayChunk(long series, long dayStartMs) => inner.HasDayChunk(series, dayStartMs);

        public SeriesSummary? ReadRollup(RollupLevel level, long series, long startMs) => inner.ReadRollup(level, series, startMs);

        public SeriesSummary CombineRollups(RollupLevel level, long series, long fromMs, long toMs)
        {
            Combined.Add(series);
            return inner.CombineRollups(level, series, fromMs, toMs);
        }

        public void AppendEvaluations(IReadOnlyCollection<KpiEvaluation> evaluations) => inner.AppendEvaluations(evaluations);

        public void ClosedDaysChanged(IReadOnlyCollection<long> series) => inner.ClosedDaysChanged(series);

        public string? StoreLost() => inner.StoreLost();

        public string RecoverStore() => inner.RecoverStore();

        public int Prune() => inner.Prune();

        public Roadmap.Storage.Chunks.CompactionStep Compact() => inner.Compact();

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task Writer_NoPollAfterAnHourEnded_TheIdleWriterFoldsThatHourIntoItsDay()
    {
        // The last polls of a day (or of a source that stopped) are folded by the clock while the writer idles, not
        // only when the next poll comes.
        var db = Backend.Open();
        var h10 = T0.AddDays(1).AddHours(10);
        var time = new FakeTimeProvider(h10.AddMinutes(30));
        await using var writer = NewWriter(db, new StorageOptions(), time);
        writer.Start();
        writer.TryEnqueue(Poll(h10.AddMinutes(1).ToUnixTimeMilliseconds(), ("latency", 2.5)));
        writer.TryEnqueue(Poll(h10.AddMinutes(2).ToUnixTimeMilliseconds(), ("latency", 3.5)));
        await writer.FlushAsync();
        Assert.Empty(Backend.Rollups(RollupLevel.Day));

        // Past 11:00 and the grace: the idle loop wakes on this clock every flush interval.
        time.Advance(TimeSpan.FromMinutes(30) + TimeSpan.FromMilliseconds(Rollups.CloseGraceMs));
        var waited = TimeProvider.System.GetTimestamp();
        while (Backend.Rollups(RollupLevel.Day).Count == 0 && TimeProvider.System.GetElapsedTime(waited) < TimeSpan.FromSeconds(20))
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        var day = Assert.Single(Backend.Rollups(RollupLevel.Day)).Value;
        Assert.Equal((2, 6.0, 2.5, 3.5), (day.Count, day.Sum, day.Min, day.Max));
    }
}
