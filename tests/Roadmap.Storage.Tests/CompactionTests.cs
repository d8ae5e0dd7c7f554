using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

/// <summary>
/// Compact history: closed ranges of the hot samples sealed into chunks by the writer's compactor, and every reader
/// answering the same from chunks and hot rows as from the hot rows alone; one concrete subclass per backend.
/// </summary>
public abstract class CompactionTests(StorageTestBackend backend) : IDisposable
{
    private static readonly DateTimeOffset T0 = TestClock.RecentMidnight;
    private const long DayMs = 86_400_000;

    /// <summary>Nothing is ever closed: the writer under this never seals a chunk.</summary>
    /// <summary>A writer's options under which nothing is ever closed for compaction: the samples stay hot rows.</summary>
    internal static readonly StorageOptions NeverCompact = new() { CompactGrace = TimeSpan.FromDays(3650) };

    public void Dispose()
    {
        backend.Dispose();
        GC.SuppressFinalize(this);
    }

    private static PollRecord Poll(DateTimeOffset at, params (string Signal, double Value)[] samples) =>
        new("web", at.ToUnixTimeMilliseconds(), 0.01, true, null, samples.Select(s => new SignalSample(s.Signal, s.Value)).ToList());

    /// <summary>Every minute for <paramref name="minutes"/> from T0: latency-like decimals, a counter with a reset, and
    /// a full-precision ratio; plus a repeated ts (the later value wins).</summary>
    private static List<PollRecord> Workload(int minutes)
    {
        var random = new Random(21);
        var polls = new List<PollRecord>();
        for (var i = 0; i < minutes; i++)
        {
            polls.Add(Poll(T0.AddMinutes(i).AddMilliseconds(random.Next(0, 9)),
                ("latency", Math.Round(Math.Exp(random.NextDouble() * 3), 6)),
                ("requests", i < minutes / 2 ? i * 7 : (i - (minutes / 2)) * 3),
                ("ratio", random.NextDouble())));
        }

        polls.Add(polls[Math.Min(100, minutes / 2)] with { Samples = [new SignalSample("latency", 123.456)] });
        return polls;
    }

    /// <summary>Writes the polls through the real writer and waits until they are stored.</summary>
    internal static async Task WriteAsync(IRoadmapStorage db, IEnumerable<PollRecord> polls, StorageOptions options)
    {
        await using var writer = new BatchedWriter(db, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        foreach (var p in polls)
        {
            Assert.True(writer.TryEnqueue(p));
        }

        await writer.FlushAsync();
    }

    [Fact]
    public void Compact_DayWhoseLastHourNoProcessFolded_RebuildsItsDayRollupFromTheSealedSamples()
    {
        // A process writes 22:00-23:20 and is killed: hour 22 was folded into the day when hour 23 began, hour 23 never
        // was, and no process wrote that series again that day. Sealing the day repairs its day rollup.
        var db = backend.Open();
        var day = T0.AddDays(1).ToUnixTimeMilliseconds();
        var h22 = day + (22 * 3_600_000L);
        var h23 = h22 + 3_600_000L;
        var points = new List<Point>();
        long id;
        using (var session = db.OpenWriteSession(NeverCompact, TimeProvider.System))
        {
            var rollups = new Rollups();
            id = RollupTests.WriteBatch(session, rollups, h22 + (31 * 60_000), RollupTests.Minutes(h22, 0, 30), points);
            RollupTests.WriteBatch(session, rollups, h23 + (21 * 60_000), RollupTests.Minutes(h23, 0, 20), points);
        }

        Assert.Equal(30, backend.Rollups(RollupLevel.Day)[(id, day)].Count);

        CompactAll(db, DateTimeOffset.FromUnixTimeMilliseconds(day + DayMs + (10 * 60_000)));

        Assert.Contains((id, day), backend.DayChunks());
        var repaired = backend.Rollups(RollupLevel.Day)[(id, day)];
        Assert.Equal(50, repaired.Count);
        AssertSame(SeriesSummary.FromPoints(points), repaired, "the repaired day rollup");
        using var read = db.Samples.OpenSession();
        Assert.Equal(50, read.Summarize("web", "latency", DateTimeOffset.FromUnixTimeMilliseconds(day - 3_600_000), DateTimeOffset.FromUnixTimeMilliseconds(day + DayMs + 3_600_000)).Count);
    }

    /// <summary>Runs compaction steps at <paramref name="now"/> until a sweep is done; the chunks written.</summary>
    private static int CompactAll(IRoadmapStorage db, DateTimeOffset now)
    {
        using var session = db.OpenWriteSession(new StorageOptions { CompactBatchSamples = 1_000 }, new FixedTime(now));
        var chunks = 0;
        for (var steps = 0; steps < 100_000; steps++)
        {
            var step = session.Compact();
            if (step.Chunks == 0)
            {
                return chunks;
            }

            chunks += step.Chunks;
        }

        throw new InvalidOperationException("compaction did not finish");
    }

    private static readonly (int From, int To)[] Windows =
    [
        (95, 95 + (23 * 60)),            // under a day: raw
        (13, 13 + (2 * 24 * 60) + 17),   // two days, ragged edges
        (1, (3 * 24 * 60) - 1),          // whole days inside
        (600, 5 * 24 * 60),              // beyond the data
        (24 * 60 + 3, 24 * 60 + 50),     // inside one hour
    ];

    /// <summary>Equal answers; the first that differs is shown whole.</summary>
    private static void AssertSameAnswers(List<string> want, List<string> got)
    {
        Assert.Equal(want.Count, got.Count);
        for (var i = 0; i < want.Count; i++)
        {
            Assert.Equal(want[i], got[i]);
        }
    }

    /// <summary>Everything a reader answers about the workload's series: raw reads and window summaries.</summary>
    private static List<string> Answers(IRoadmapStorage db)
    {
        var answers = new List<string>();
        using var session = db.Samples.OpenSession();
        foreach (var signal in new[] { "latency", "requests", "ratio" })
        {
            foreach (var (from, to) in Windows)
            {
                var (f, t) = (T0.AddMinutes(from), T0.AddMinutes(to));
                var points = session.Read("web", signal, f, t);
                answers.Add($"{signal} {from}-{to} read {points.Count}: {string.Join(',', points.Select(p => $"{p.TimestampMs}={p.Value:R}"))}");
                var s = session.Summarize("web", signal, f, t);
                // The sum and increase to 13 digits: an edge inside a sealed day is summed from its raw points, not
                // from its hours' sums, which may round the last bits differently.
                answers.Add(FormattableString.Invariant(
                    $"{signal} {from}-{to} summary {s.Count} {s.Sum:G13} {s.Min:R} {s.Max:R} {s.FirstTimestampMs} {s.FirstValue:R} {s.LastTimestampMs} {s.LastValue:R} {s.Increase:G13} p95 {s.Sketch.Quantile(0.95):R}"));
            }
        }

        return answers;
    }

    [Fact]
    public async Task Compact_ClosedDays_EveryReadAndSummaryIsExactlyAsBefore()
    {
        var db = backend.Open();
        var polls = Workload(3 * 24 * 60);
        await WriteAsync(db, polls, NeverCompact);
        var before = Answers(db);
        var samples = backend.Samples();
        Assert.Equal(0, backend.Count("chunks"));

        var chunks = CompactAll(db, T0.AddDays(4));

        Assert.Equal(3 * 3, chunks); // a chunk per series and day
        Assert.Equal(9, backend.Count("chunks"));
        Assert.Equal(0, backend.HotSamples());
        Assert.Equal(samples, backend.Samples());
        AssertSameAnswers(before, Answers(db));
        AssertSameAnswers(before, Answers(backend.Open())); // and after a restart
    }

    /// <summary>Windows (from, to inclusive) whose edges fall inside sealed days, and the odd ones around them.</summary>
    private static readonly (string Name, TimeSpan From, TimeSpan To)[] EdgeWindows =
    [
        ("ragged start and end edges", TimeSpan.FromDays(1) + TimeSpan.FromMinutes(13) + TimeSpan.FromSeconds(7), TimeSpan.FromDays(2) + TimeSpan.FromMinutes((5 * 60) + 17)),
        ("exact hour boundaries", TimeSpan.FromDays(1) + TimeSpan.FromHours(5), TimeSpan.FromDays(2) + TimeSpan.FromHours(7) - TimeSpan.FromMilliseconds(1)),
        ("starts exactly at midnight", TimeSpan.FromDays(1), TimeSpan.FromDays(2) + TimeSpan.FromMinutes((3 * 60) + 17)),
        ("ends exactly at midnight", TimeSpan.FromHours(22.5), TimeSpan.FromDays(3) - TimeSpan.FromMilliseconds(1)),
        ("ragged edges three days apart", TimeSpan.FromMinutes(13), TimeSpan.FromDays(3) - TimeSpan.FromSeconds(1)),
        ("start edge in an empty day", TimeSpan.FromHours(-18), TimeSpan.FromDays(1) + TimeSpan.FromMinutes(390)),
        ("end edge in an empty day", TimeSpan.FromDays(1) + TimeSpan.FromHours(2), TimeSpan.FromDays(3) + TimeSpan.FromHours(9)),
    ];

    /// <summary>A signal whose first sample is inside the start edge day of the windows above: from day 1, 10:00,
    /// every 10 minutes for a day and a half.</summary>
    private static List<PollRecord> LateStarter() =>
        [.. Enumerable.Range(0, 36 * 6).Select(i => Poll(T0.AddDays(1).AddHours(10).AddMinutes(10 * i), ("sparse", Math.Round(Math.Sin(i) * 50, 3))))];

    private static readonly string[] EdgeSignals = ["latency", "requests", "ratio", "sparse"];

    /// <summary>The points the polls put in the store: per signal by ts, the later of two at one ts winning.</summary>
    private static Dictionary<string, SortedDictionary<long, double>> Generated(IEnumerable<PollRecord> polls)
    {
        var points = EdgeSignals.ToDictionary(s => s, _ => new SortedDictionary<long, double>());
        foreach (var poll in polls)
        {
            foreach (var sample in poll.Samples)
            {
                points[sample.Signal][poll.TimestampMs] = sample.Value;
            }
        }

        return points;
    }

    private static List<Point> Between(SortedDictionary<long, double> points, DateTimeOffset from, DateTimeOffset to) =>
        [.. points.Where(p => p.Key >= from.ToUnixTimeMilliseconds() && p.Key <= to.ToUnixTimeMilliseconds()).Select(p => new Point(p.Key, p.Value))];

    /// <summary>Every edge window's summary of every signal, each checked against the summary of its generated points.</summary>
    private static List<SeriesSummary> AssertEdgeWindowsAreTheirPoints(IRoadmapStorage db, Dictionary<string, SortedDictionary<long, double>> generated)
    {
        var summaries = new List<SeriesSummary>();
        using var session = db.Samples.OpenSession();
        foreach (var signal in EdgeSignals)
        {
            foreach (var (name, from, to) in EdgeWindows)
            {
                var got = session.Summarize("web", signal, T0 + from, T0 + to);
                AssertSame(SeriesSummary.FromPoints(Between(generated[signal], T0 + from, T0 + to)), got, $"{signal}, {name}");
                summaries.Add(got);
            }
        }

        return summaries;
    }

    /// <summary>Equal numbers (the sum and increase up to float rounding) and equal sketch bytes.</summary>
    private static void AssertSame(SeriesSummary want, SeriesSummary got, string what)
    {
        Assert.True(want.Count == got.Count, $"{what}: count {got.Count}, want {want.Count}");
        if (want.Count == 0)
        {
            return;
        }

        Assert.True(Math.Abs(want.Sum - got.Sum) <= 1e-9 * Math.Abs(want.Sum), $"{what}: sum {got.Sum:R}, want {want.Sum:R}");
        Assert.True(Math.Abs(want.Increase - got.Increase) <= 1e-9 * Math.Abs(want.Increase), $"{what}: increase {got.Increase:R}, want {want.Increase:R}");
        Assert.True(
            (want.Min, want.Max, want.FirstTimestampMs, want.FirstValue, want.LastTimestampMs, want.LastValue) == (got.Min, got.Max, got.FirstTimestampMs, got.FirstValue, got.LastTimestampMs, got.LastValue),
            $"{what}: min/max/first/last {(got.Min, got.Max, got.FirstTimestampMs, got.FirstValue, got.LastTimestampMs, got.LastValue)}, want {(want.Min, want.Max, want.FirstTimestampMs, want.FirstValue, want.LastTimestampMs, want.LastValue)}");
        Assert.True(want.Sketch.ToBytes().AsSpan().SequenceEqual(got.Sketch.ToBytes()), $"{what}: the sketch differs");
    }

    [Fact]
    public async Task Compact_ClosedDay_DropsItsHourRollupsAndWindowsWithEdgesInsideItAreTheirRawPoints()
    {
        var db = backend.Open();
        var polls = Workload(3 * 24 * 60).Concat(LateStarter()).ToList();
        await WriteAsync(db, polls, NeverCompact);
        var generated = Generated(polls);
        var before = AssertEdgeWindowsAreTheirPoints(db, generated);
        var days = backend.Rollups(RollupLevel.Day);
        Assert.NotEmpty(backend.Rollups(RollupLevel.Hour));

        CompactAll(db, T0.AddDays(4));

        // Every day of every series is sealed: no hour rollup is left, every day rollup is.
        Assert.Equal(3 + 3 + 3 + 2, backend.DayChunks().Count);
        Assert.Empty(backend.Rollups(RollupLevel.Hour));
        Assert.Equal(days.Keys.Order(), backend.Rollups(RollupLevel.Day).Keys.Order());
        var after = AssertEdgeWindowsAreTheirPoints(db, generated);
        for (var i = 0; i < before.Count; i++)
        {
            AssertSame(before[i], after[i], $"window {i} before and after sealing");
        }

        AssertEdgeWindowsAreTheirPoints(backend.Open(), generated); // and after a restart
    }

    [Fact]
    public async Task Write_LateAndRepeatedSampleIntoASealedDay_DayRollupIsItsRawPointsAndWindowsIncludeThem()
    {
        var db = backend.Open();
        var polls = Workload(3 * 24 * 60).Concat(LateStarter()).ToList();
        await WriteAsync(db, polls, NeverCompact);
        CompactAll(db, T0.AddDays(4));
        var dayOne = T0.AddDays(1).ToUnixTimeMilliseconds();

        // Into day 1, sealed: a new ts between stored ones (before the day's last: the day bucket is recomputed),
        // and a value replacing a stored one at its ts.
        var replaced = Generated(polls)["latency"].Keys.First(ts => ts > T0.AddDays(1).AddHours(7).ToUnixTimeMilliseconds());
        List<PollRecord> late =
        [
            Poll(T0.AddDays(1).AddHours(5).AddSeconds(17), ("latency", 4242.5), ("sparse", -1e3)),
            new("web", replaced, 0.01, true, null, [new SignalSample("latency", -7.25)]),
        ];
        await WriteAsync(db, late, NeverCompact);
        polls.AddRange(late);
        var generatedNow = Generated(polls);

        foreach (var round in new[] { "hot", "sealed again" })
        {
            var days = backend.Rollups(RollupLevel.Day);
            var ids = backend.Samples().GroupBy(s => s.Series).ToDictionary(g => g.Key, g => g.Select(s => s.Value).ToHashSet());
            var latency = ids.Single(i => i.Value.Contains(4242.5) && i.Value.Contains(-7.25)).Key;
            var sparse = ids.Single(i => i.Value.Contains(-1e3)).Key;
            var dayEnd = T0.AddDays(2).AddMilliseconds(-1);
            AssertSame(SeriesSummary.FromPoints(Between(generatedNow["latency"], T0.AddDays(1), dayEnd)), days[(latency, dayOne)], $"{round}: latency's day rollup");
            AssertSame(SeriesSummary.FromPoints(Between(generatedNow["sparse"], T0.AddDays(1), dayEnd)), days[(sparse, dayOne)], $"{round}: sparse's day rollup");
            AssertEdgeWindowsAreTheirPoints(db, generatedNow);

            CompactAll(db, T0.AddDays(4));
            Assert.Equal(0, backend.HotSamples());
            Assert.DoesNotContain(backend.Rollups(RollupLevel.Hour).Keys, k => k.Start >= dayOne && k.Start < dayOne + RollupLevel.Day.SizeMs);
        }
    }

    [Fact]
    public async Task Compact_LateAndRepeatedSamplesAfterSealing_AreReadAtOnceAndSealedAgain()
    {
        var db = backend.Open();
        await WriteAsync(db, Workload(3 * 24 * 60), NeverCompact);
        CompactAll(db, T0.AddDays(4));

        // Late: a value replacing a sealed one at its ts, and a new ts inside a sealed day.
        var replaced = backend.Samples().First(s => s.Ts > T0.AddHours(30).ToUnixTimeMilliseconds());
        var late = new List<PollRecord>
        {
            new("web", replaced.Ts, 0.01, true, null, [new SignalSample("latency", 999.5), new SignalSample("requests", 1e6), new SignalSample("ratio", 0.5)]),
            Poll(T0.AddHours(40).AddSeconds(17), ("latency", 0.25)),
        };
        await WriteAsync(db, late, NeverCompact);
        var withLate = Answers(db);
        var samples = backend.Samples();

        Assert.Equal(4, backend.HotSamples());
        Assert.Contains(samples, s => s.Ts == replaced.Ts && s.Value == 999.5);
        Assert.Equal(samples.Count, samples.Distinct().Count());
        Assert.Contains(withLate, a => a.Contains("=999.5", StringComparison.Ordinal));

        Assert.Equal(3, CompactAll(db, T0.AddDays(4))); // the one day of each series with late samples, sealed again
        Assert.Equal(0, backend.HotSamples());
        Assert.Equal(9, backend.Count("chunks"));
        Assert.Equal(samples, backend.Samples());
        AssertSameAnswers(withLate, Answers(db));
    }

    [Fact]
    public async Task Compact_OpenDay_SealsClosedHoursAloneThenTheWholeDayOnceItCloses()
    {
        var db = backend.Open();
        await WriteAsync(db, Workload((24 * 60) + 150), NeverCompact); // a day, then 2.5 hours of the next
        var before = Answers(db);

        // Day 2 at 02:30: day 1 is one chunk, day 2's first two hours a chunk each, 02:00-02:30 stays hot.
        Assert.Equal(3 * 3, CompactAll(db, T0.AddDays(1).AddMinutes(150)));
        Assert.Equal(3 * 3, backend.Count("chunks"));
        Assert.Equal(3 * 30, backend.HotSamples());
        AssertSameAnswers(before, Answers(db));

        // Day 3 at 00:10: day 2 closed; its hour chunks and hot rows become one chunk.
        Assert.Equal(3, CompactAll(db, T0.AddDays(2).AddMinutes(10)));
        Assert.Equal(3 * 2, backend.Count("chunks"));
        Assert.Equal(0, backend.HotSamples());
        AssertSameAnswers(before, Answers(db));
    }

    [Fact]
    public async Task Compact_WithinTheGrace_LeavesTheRangeHot()
    {
        var db = backend.Open();
        await WriteAsync(db, Workload(60), NeverCompact);

        // 3 minutes after the hour ended: the default grace (5 minutes) has not passed.
        Assert.Equal(0, CompactAll(db, T0.AddMinutes(63)));
        Assert.Equal(3 * 60, backend.HotSamples());
        Assert.Equal(3, CompactAll(db, T0.AddMinutes(66)));
        Assert.Equal(0, backend.HotSamples());
    }

    [Fact]
    public async Task Writer_OldSamples_AreSealedByItsCompactorBetweenBatches()
    {
        var db = backend.Open();
        await WriteAsync(db, Workload(3 * 24 * 60), NeverCompact);
        var before = Answers(db);

        // A writer with the default options: its first sweep is the conversion of what is stored.
        await using (var writer = new BatchedWriter(db, new StorageOptions(), TimeProvider.System, NullLogger<BatchedWriter>.Instance))
        {
            writer.Start();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (backend.HotSamples() > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Equal(9, writer.ChunksSealed);
        }

        Assert.Equal(0, backend.HotSamples());
        AssertSameAnswers(before, Answers(db));
    }

    [Fact]
    public async Task Writer_LongConversion_LogsItsProgressAndWhenItIsDone()
    {
        var db = backend.Open();
        await WriteAsync(db, Workload(3 * 24 * 60), NeverCompact);
        var log = new LinesLog();

        // Steps of 1,000 samples on a clock 11 s further on at every look: a progress line is due at every step.
        var options = new StorageOptions { CompactBatchSamples = 1_000 };
        await using (var writer = new BatchedWriter(db, options, new SteppingTime(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(11)), log))
        {
            writer.Start();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!log.Lines.Any(l => l.StartsWith("Compacting history done", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }

        var progress = log.Lines.Where(l => l.StartsWith("Compacting history: ", StringComparison.Ordinal)).ToList();
        Assert.True(progress.Count >= 2, string.Join('\n', log.Lines));
        Assert.Contains(log.Lines, l => l.StartsWith($"Compacting history done: {3 * 3 * 24 * 60} samples sealed into 9 chunks", StringComparison.Ordinal));
        Assert.Equal(0, backend.HotSamples());
    }

    /// <summary>The formatted lines of a logger.</summary>
    private sealed class LinesLog : Microsoft.Extensions.Logging.ILogger<BatchedWriter>
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add(formatter(state, exception));
            }
        }
    }

    /// <summary>A clock a step further on at every look (timers are the system's).</summary>
    private sealed class SteppingTime(DateTimeOffset start, TimeSpan step) : TimeProvider
    {
        private long _looks;

        public override DateTimeOffset GetUtcNow() => start + (step * Interlocked.Increment(ref _looks));
    }

    /// <summary>A clock standing at one instant.</summary>
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
