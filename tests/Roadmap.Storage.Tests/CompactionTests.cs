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

    /// <summary>Nothing is ever closed: the writer under this never seals a chunk.</summary>
    private static readonly StorageOptions NeverCompact = new() { CompactGrace = TimeSpan.FromDays(3650) };

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

    private static async Task WriteAsync(IRoadmapStorage db, IEnumerable<PollRecord> polls, StorageOptions options)
    {
        await using var writer = new BatchedWriter(db, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        foreach (var p in polls)
        {
            Assert.True(writer.TryEnqueue(p));
        }

        await writer.FlushAsync();
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
                answers.Add(FormattableString.Invariant(
                    $"{signal} {from}-{to} summary {s.Count} {s.Sum:R} {s.Min:R} {s.Max:R} {s.FirstTimestampMs} {s.FirstValue:R} {s.LastTimestampMs} {s.LastValue:R} {s.Increase:R} p95 {s.Sketch.Quantile(0.95):R}"));
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
        Assert.Equal(before, Answers(db));
        Assert.Equal(before, Answers(backend.Open())); // and after a restart
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
        Assert.Equal(withLate, Answers(db));
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
        Assert.Equal(before, Answers(db));

        // Day 3 at 00:10: day 2 closed; its hour chunks and hot rows become one chunk.
        Assert.Equal(3, CompactAll(db, T0.AddDays(2).AddMinutes(10)));
        Assert.Equal(3 * 2, backend.Count("chunks"));
        Assert.Equal(0, backend.HotSamples());
        Assert.Equal(before, Answers(db));
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
        Assert.Equal(before, Answers(db));
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
