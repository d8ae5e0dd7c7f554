using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

/// <summary>The shared writer over a backend's write session; one concrete subclass per backend.</summary>
public abstract class BatchedWriterTests : IDisposable
{
    protected static readonly DateTimeOffset T0 = TestClock.RecentMidnight;
    private readonly IRoadmapStorage _db;

    protected BatchedWriterTests(StorageTestBackend backend)
    {
        Backend = backend;
        _db = backend.Open();
    }

    protected StorageTestBackend Backend { get; }

    /// <summary>Samples the backend binds in one insert statement at most (1 where it has no multi-row statements).</summary>
    protected virtual int RowsPerInsertStatement => 1;

    public void Dispose()
    {
        Backend.Dispose();
        GC.SuppressFinalize(this);
    }

    protected BatchedWriter NewWriter(StorageOptions? options = null) =>
        new(_db, options ?? new StorageOptions(), TimeProvider.System, NullLogger<BatchedWriter>.Instance);

    protected static PollRecord Poll(string source, int i, bool success = true, params (string Signal, double Value)[] samples) =>
        new(source, T0.AddSeconds(i).ToUnixTimeMilliseconds(), 0.012, success, success ? null : "HTTP 500, expected 2xx",
            samples.Select(s => new SignalSample(s.Signal, s.Value)).ToList());

    [Fact]
    public async Task FlushAsync_AfterEnqueue_EverySampleAndPollIsReadable()
    {
        await using var writer = NewWriter();
        writer.Start();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(writer.TryEnqueue(Poll("web", i, i % 10 != 0, ("up", i % 10 == 0 ? 0 : 1), ("latency_seconds", i / 1000.0))));
        }

        await writer.FlushAsync();

        var reader = _db.Samples;
        var up = reader.Read("web", "up", T0, T0.AddSeconds(99));
        Assert.Equal(100, up.Count);
        Assert.Equal(90, up.Sum(p => p.Value));
        Assert.Equal(T0.AddSeconds(42).ToUnixTimeMilliseconds(), up[42].TimestampMs);
        var latency = reader.Read("web", "latency_seconds", T0.AddSeconds(10), T0.AddSeconds(19));
        Assert.Equal(10, latency.Count);
        Assert.Equal(0.010, latency[0].Value, 12);
        var polls = reader.Polls("web", T0, T0.AddSeconds(99));
        Assert.Equal(100, polls.Count);
        Assert.Equal(10, polls.Count(p => p.Outcome == "failure"));
        Assert.All(polls.Where(p => p.Outcome == "failure"), p => Assert.Equal("HTTP 500, expected 2xx", p.Reason));
        Assert.Equal(12, polls[0].DurationMs, 9);
        Assert.Equal(200, writer.SamplesWritten);
        Assert.Equal(100, writer.PollsWritten);
    }

    [Fact]
    public async Task Writer_OneBatchWithRepeatsLateSamplesAndChunkEdges_StoresExactlyTheLastValuePerTimestamp()
    {
        // Enough rows for several multi-row insert statements plus single-row leftovers, with repeats of a (source, ts)
        // spread so that some pairs fall within one statement and some across two, and late polls arriving after
        // newer ones. The later arrival of a repeated (source, ts) must win, as with one statement per row.
        var expected = new Dictionary<(string Source, int Second), double>();
        var polls = new List<PollRecord>();
        void Add(string source, int second, double value)
        {
            polls.Add(Poll(source, second, true, ("v", value)));
            expected[(source, second)] = value;
        }

        for (var i = 0; i < 150; i++)
        {
            Add("a", i, i);
            if (i % 7 == 0)
            {
                Add("a", i, 1000 + i); // repeated at once: adjacent after sorting
            }
        }

        for (var i = 0; i < 70; i++)
        {
            Add("b", 200 + i, -i);
        }

        for (var i = 0; i < 150; i += 5)
        {
            Add("a", i, 5000 + i); // late repeats of older timestamps, after newer polls of both sources
        }

        Add("b", 100, 42); // a late sample older than all of b's
        Assert.True(polls.Count > (3 * RowsPerInsertStatement) + 1, "the batch must span several multi-row statements and a remainder");

        await using var writer = NewWriter();
        foreach (var poll in polls)
        {
            Assert.True(writer.TryEnqueue(poll));
        }

        writer.Start();
        await writer.FlushAsync();

        Assert.Equal(1, writer.Batches);
        var reader = _db.Samples;
        foreach (var source in new[] { "a", "b" })
        {
            var stored = reader.Read(source, "v", T0, T0.AddSeconds(1000));
            var want = expected.Where(e => e.Key.Source == source).OrderBy(e => e.Key.Second).ToList();
            Assert.Equal(want.Count, stored.Count);
            for (var k = 0; k < want.Count; k++)
            {
                Assert.Equal(T0.AddSeconds(want[k].Key.Second).ToUnixTimeMilliseconds(), stored[k].TimestampMs);
                Assert.Equal(want[k].Value, stored[k].Value);
            }
        }

        Assert.Equal(expected.Count, Backend.Count("samples"));
        Assert.Equal(polls.Count, writer.SamplesWritten);
    }

    [Fact]
    public async Task Writer_ManyPollsInOneInterval_CommitsFewTransactionsNotOnePerSample()
    {
        await using var writer = NewWriter();
        writer.Start();
        for (var i = 0; i < 5000; i++)
        {
            writer.TryEnqueue(Poll($"s{i % 50}", i, true, ("up", 1), ("latency_seconds", 0.1)));
        }

        await writer.FlushAsync();

        Assert.Equal(10_000, writer.SamplesWritten);
        // 10,000 samples at most 10,000 per batch, plus whatever the linger split off: far fewer than 5,000 polls.
        Assert.InRange(writer.Batches, 1, 10);
    }

    [Fact]
    public async Task Writer_WhileLingering_KeepsNoPollObjectAliveUntilTheBatchIsWritten()
    {
        // A 10-minute linger: the batch is only written by the flush at the end, so everything before it happens
        // while the polls wait for their transaction.
        await using var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMinutes(10) });
        writer.Start();
        var polls = EnqueueUnreferenced(writer, 200);

        var drained = Task.Run(async () =>
        {
            while (writer.QueueLength != 0)
            {
                await Task.Delay(10);
            }
        });
        await drained.WaitAsync(TimeSpan.FromSeconds(30));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // Taken out of the queue but not written: the writer holds their values, not the objects, so a poll does not
        // outlive the youngest generation just by waiting for its batch.
        Assert.Equal(0, writer.SamplesWritten);
        Assert.All(polls, p => Assert.False(p.IsAlive));

        await writer.FlushAsync();
        var reader = _db.Samples;
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i / 1000.0), reader.Read("web", "latency_seconds", T0, T0.AddSeconds(199)).Select(p => p.Value));
        var stored = reader.Polls("web", T0, T0.AddSeconds(199));
        Assert.Equal(200, stored.Count);
        Assert.Equal(20, stored.Count(p => p.Reason == "HTTP 500, expected 2xx"));
        Assert.Equal(200, writer.PollsWritten);
    }

    /// <summary>Enqueues polls that nothing but the writer references, and returns weak references to them.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static List<WeakReference> EnqueueUnreferenced(BatchedWriter writer, int count)
    {
        var refs = new List<WeakReference>();
        for (var i = 0; i < count; i++)
        {
            var poll = Poll("web", i, i % 10 != 0, ("latency_seconds", i / 1000.0));
            Assert.True(writer.TryEnqueue(poll));
            refs.Add(new WeakReference(poll));
        }

        return refs;
    }

    [Fact]
    public async Task DisposeAsync_WithQueuedPolls_WritesThemAll()
    {
        var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMinutes(10) });
        writer.Start();
        for (var i = 0; i < 500; i++)
        {
            writer.TryEnqueue(Poll("db", i, true, ("duration_seconds", 0.001 * i)));
        }

        await writer.DisposeAsync();

        Assert.Equal(500, _db.Samples.CountPolls("db"));
        Assert.Equal(500, writer.SamplesWritten);
        Assert.False(writer.TryEnqueue(Poll("db", 501)));
    }

    [Fact]
    public async Task Busy_CountsTheBatchesWallTime_NotTheTimeSpentWaitingForPolls()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        await using var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(100) });
        // Nothing done yet; the CPU time is read on Linux, where the tests run.
        Assert.Equal(new WriterBusy(default, default, default, default, TimeSpan.Zero), writer.Busy);
        writer.Start();
        for (var i = 0; i < 2000; i++)
        {
            writer.TryEnqueue(Poll($"s{i % 20}", i, true, ("up", 1), ("latency_seconds", 0.001 * i)));
        }

        await writer.FlushAsync();
        var afterWrite = writer.Busy;

        // Idle for ten flush intervals: the loop wakes (retention, compaction) but commits no batch.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var idle = writer.Busy;
        var elapsed = started.Elapsed;

        Assert.True(writer.Batches >= 1);
        Assert.True(afterWrite.Batches > TimeSpan.Zero, "the batches' time was not counted");
        Assert.Equal(afterWrite.Batches, idle.Batches);
        var all = idle.Batches + idle.Rollups + idle.Retention + idle.Compaction;
        // Work only: the steps run one after another on the write loop, so together they fit in the time it ran.
        Assert.True(all < elapsed, $"busy {all} over the {elapsed} the writer ran");
        // The thread's CPU time in those steps: some, and at most their wall time (plus the clocks' granularity).
        Assert.True(afterWrite.Cpu > TimeSpan.Zero, "the batches' CPU time was not counted");
        Assert.True(idle.Cpu <= all + TimeSpan.FromMilliseconds(10), $"CPU {idle.Cpu} in steps of {all}");
    }

    [Fact]
    public async Task TryEnqueue_QueueFull_DropsAndCountsInsteadOfBlocking()
    {
        // Not started: nothing drains the queue.
        await using var writer = NewWriter(new StorageOptions { QueueCapacity = 10 });
        var accepted = Enumerable.Range(0, 25).Count(i => writer.TryEnqueue(Poll("web", i, true, ("up", 1))));

        Assert.Equal(10, accepted);
        Assert.Equal(15, writer.PollsDropped);
    }

    [Fact]
    public async Task Writer_NonFiniteSample_IsSkippedAndTheRestOfTheBatchIsStored()
    {
        await using var writer = NewWriter();
        writer.Start();
        writer.TryEnqueue(Poll("web", 0, true, ("up", 1), ("latency_seconds", double.NaN)));
        writer.TryEnqueue(Poll("web", 1, true, ("up", 1), ("latency_seconds", double.PositiveInfinity)));
        writer.TryEnqueue(Poll("web", 2, true, ("up", 1), ("latency_seconds", 0.5)));

        await writer.FlushAsync();

        var reader = _db.Samples;
        Assert.Equal(3, reader.Read("web", "up", T0, T0.AddSeconds(2)).Count);
        Assert.Equal([0.5], reader.Read("web", "latency_seconds", T0, T0.AddSeconds(2)).Select(p => p.Value));
        Assert.Equal(0, writer.WriteFailures);
    }

    [Fact]
    public async Task Writer_SeriesIds_AreSharedAcrossBatchesAndSources()
    {
        await using var writer = NewWriter();
        writer.Start();
        writer.TryEnqueue(Poll("a", 0, true, ("up", 1)));
        await writer.FlushAsync();
        writer.TryEnqueue(Poll("a", 1, true, ("up", 0)));
        writer.TryEnqueue(Poll("b", 1, true, ("up", 1)));
        await writer.FlushAsync();

        Assert.Equal(2, Backend.Count("series"));
        Assert.Equal([1.0, 0.0], _db.Samples.Read("a", "up", T0, T0.AddSeconds(1)).Select(p => p.Value));
    }

    protected static KpiEvaluation Evaluation(string kpi, DateTimeOffset at, double value) =>
        new("frontend", kpi, at, value, 2.0, value <= 2.0, value <= 2.0 ? KpiStatus.Met : KpiStatus.AtRisk, null, 1, "test");

    [Fact]
    public async Task AppendEvaluations_WhileRunning_CommitsThemBetweenBatches_AndNotBeforeStartOrAfterStop()
    {
        KpiEvaluation[] first = [Evaluation("p95", T0, 1.5), Evaluation("p95", T0.AddMinutes(5), 2.5), Evaluation("lcp", T0, 1.9)];
        var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(100) });
        Assert.False(writer.AppendEvaluations(first));
        Assert.Empty(_db.Evaluations.History("frontend", "p95", T0, T0.AddHours(1)));

        writer.Start();
        for (var i = 0; i < 50; i++)
        {
            writer.TryEnqueue(Poll("web", i, true, ("up", 1)));
        }

        Assert.True(writer.AppendEvaluations(first));
        var p95 = _db.Evaluations.History("frontend", "p95", T0, T0.AddHours(1));
        Assert.Equal([1.5, 2.5], p95.Select(e => e.Value));
        Assert.Equal(["met", "at_risk"], p95.Select(e => e.Status));
        Assert.Single(_db.Evaluations.History("frontend", "lcp", T0, T0.AddHours(1)));
        Assert.True(writer.AppendEvaluations([]));
        await writer.FlushAsync();
        Assert.Equal(50, _db.Samples.CountPolls("web"));

        await writer.DisposeAsync();
        Assert.False(writer.AppendEvaluations([Evaluation("p95", T0.AddMinutes(10), 1.0)]));
        Assert.Equal(2, _db.Evaluations.History("frontend", "p95", T0, T0.AddHours(1)).Count);
        Assert.Equal(StorageHealth.Ok, writer.Health);
    }

    [Fact]
    public async Task AppendEvaluations_StoreRefusesThem_ThrowsStoresNoneAndKeepsWritingPolls()
    {
        await using var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(100) });
        writer.Start();
        writer.TryEnqueue(Poll("web", 0, true, ("up", 1)));
        await writer.FlushAsync();
        Backend.Execute("DROP TABLE evaluations;");

        var e = Assert.Throws<StorageException>(() => writer.AppendEvaluations([Evaluation("p95", T0, 1.5)]));
        Assert.Contains("evaluations", e.Message, StringComparison.OrdinalIgnoreCase);

        writer.TryEnqueue(Poll("web", 1, true, ("up", 1)));
        await writer.FlushAsync();
        Assert.Equal(2, _db.Samples.CountPolls("web"));
        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Equal(0, writer.WriteFailures);
    }

    [Fact]
    public async Task WriterEvaluationStore_Append_GoesThroughTheRunningWriter_AndStraightToTheStoreOtherwise()
    {
        var writer = NewWriter();
        var store = new WriterEvaluationStore(_db.Evaluations, writer);
        store.Append([Evaluation("p95", T0, 1.5)]);
        Assert.Equal(TimeSpan.Zero, writer.Busy.Batches);

        writer.Start();
        store.Append([Evaluation("p95", T0.AddMinutes(5), 1.7)]);
        // No poll was queued: the only transaction the writer ran is the append's.
        Assert.True(writer.Busy.Batches > TimeSpan.Zero, "the append did not go through the writer");
        await writer.DisposeAsync();
        var afterStop = writer.Busy.Batches;
        store.Append([Evaluation("p95", T0.AddMinutes(10), 1.9)]);

        Assert.Equal(afterStop, writer.Busy.Batches);
        Assert.Equal([1.5, 1.7, 1.9], store.History("frontend", "p95", T0, T0.AddHours(1)).Select(e => e.Value));
    }

    [Fact]
    public void Read_UnknownSeries_IsEmpty()
    {
        Assert.Empty(_db.Samples.Read("nope", "up", T0, T0.AddDays(1)));
    }
}
