using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

/// <summary>The evaluation history and baselines; one concrete subclass per backend.</summary>
public abstract class EvaluationStoreTests : IDisposable
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    protected static readonly DateOnly October1 = new(2026, 10, 1);
    protected static readonly DateOnly October31 = new(2026, 10, 31);

    private readonly IEvaluationStore _store;

    protected EvaluationStoreTests(StorageTestBackend backend)
    {
        Backend = backend;
        _store = backend.Open().Evaluations;
    }

    protected StorageTestBackend Backend { get; }

    protected IEvaluationStore Store => _store;

    public void Dispose()
    {
        Backend.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static KpiEvaluation Evaluation(string initiative, string kpi, DateTimeOffset at, double? value, double? target, KpiStatus status) =>
        new(initiative, kpi, at, value, target, status == KpiStatus.Met, status, null, value is null ? 0 : 1, "test");

    private long CountRows(string table) => Backend.Count(table);

    [Fact]
    public void Append_EmptyCollection_WritesNothing()
    {
        _store.Append([]);

        Assert.Equal(0, CountRows("evaluations"));
        Assert.Empty(_store.Latest());
    }

    [Fact]
    public void Values_AfterAppend_ReturnsValuesOldestFirstWithoutNoDataRows()
    {
        // Appended out of order, with a no-data row in between.
        _store.Append(
        [
            Evaluation("frontend", "p95", T0.AddMinutes(10), 2.2, 1.92, KpiStatus.AtRisk),
            Evaluation("frontend", "p95", T0, 2.4, 1.92, KpiStatus.AtRisk),
            Evaluation("frontend", "p95", T0.AddMinutes(5), null, 1.92, KpiStatus.NoData),
            Evaluation("frontend", "p95", T0.AddMinutes(15), 2.1, 1.92, KpiStatus.AtRisk),
        ]);

        var values = _store.Values("frontend", "p95", T0, T0.AddHours(1));

        Assert.Equal(
            [new Point(T0.ToUnixTimeMilliseconds(), 2.4), new Point(T0.AddMinutes(10).ToUnixTimeMilliseconds(), 2.2), new Point(T0.AddMinutes(15).ToUnixTimeMilliseconds(), 2.1)],
            values);
        Assert.Equal(4, CountRows("evaluations"));
    }

    [Fact]
    public void Values_RangeBounds_AreInclusiveAtBothEnds()
    {
        _store.Append(Enumerable.Range(0, 5).Select(i => Evaluation("frontend", "p95", T0.AddMinutes(5 * i), i, 1.92, KpiStatus.AtRisk)).ToList());

        var inner = _store.Values("frontend", "p95", T0.AddMinutes(5), T0.AddMinutes(15));
        var justInside = _store.Values("frontend", "p95", T0.AddMinutes(5).AddMilliseconds(1), T0.AddMinutes(15).AddMilliseconds(-1));

        Assert.Equal([1.0, 2.0, 3.0], inner.Select(p => p.Value));
        Assert.Equal([2.0], justInside.Select(p => p.Value));
    }

    [Fact]
    public void Values_OtherKpisAndInitiatives_AreNotMixedIn()
    {
        _store.Append(
        [
            Evaluation("frontend", "p95", T0, 2.4, 1.92, KpiStatus.AtRisk),
            Evaluation("frontend", "bounce-rate", T0, 0.4, 0.3, KpiStatus.Missed),
            Evaluation("cloud-migration", "p95", T0, 9.9, 1.0, KpiStatus.Missed),
        ]);

        Assert.Equal([2.4], _store.Values("frontend", "p95", T0, T0).Select(p => p.Value));
        Assert.Equal([0.4], _store.Values("frontend", "bounce-rate", T0, T0).Select(p => p.Value));
        Assert.Equal([9.9], _store.Values("cloud-migration", "p95", T0, T0).Select(p => p.Value));
        Assert.Empty(_store.Values("security", "p95", T0, T0));
    }

    [Fact]
    public void History_AfterAppend_ReturnsEveryRowWithStatusLabelAndTarget()
    {
        _store.Append(
        [
            Evaluation("frontend", "p95", T0, null, null, KpiStatus.NoData),
            Evaluation("frontend", "p95", T0.AddMinutes(5), 2.1, 1.92, KpiStatus.OnTrack),
            Evaluation("frontend", "p95", T0.AddMinutes(10), 1.9, 1.92, KpiStatus.Met),
            Evaluation("frontend", "p95", T0.AddMinutes(20), 1.9, 1.92, KpiStatus.Met),
        ]);

        var history = _store.History("frontend", "p95", T0, T0.AddMinutes(10));

        Assert.Equal(
        [
            new StoredEvaluation(T0.ToUnixTimeMilliseconds(), null, null, "no_data", IEvaluationStore.CurrentRules),
            new StoredEvaluation(T0.AddMinutes(5).ToUnixTimeMilliseconds(), 2.1, 1.92, "on_track", IEvaluationStore.CurrentRules),
            new StoredEvaluation(T0.AddMinutes(10).ToUnixTimeMilliseconds(), 1.9, 1.92, "met", IEvaluationStore.CurrentRules),
        ],
        history);
    }

    [Fact]
    public void Since_FromRowZero_ReturnsEveryKpisRowsInRangeInStoredOrder()
    {
        _store.Append(
        [
            Evaluation("cloud", "uptime", T0.AddMinutes(-10), 0.5, 0.9, KpiStatus.Missed),
            Evaluation("cloud", "uptime", T0, 0.99, 0.9, KpiStatus.Met),
            Evaluation("db", "p95", T0.AddMinutes(5), null, 0.05, KpiStatus.NoData),
        ]);

        var read = _store.Since(0, T0, [("cloud", "uptime"), ("db", "p95")]);

        Assert.Equal(
            [("cloud", "uptime", T0.ToUnixTimeMilliseconds(), (double?)0.99, "met"), ("db", "p95", T0.AddMinutes(5).ToUnixTimeMilliseconds(), null, "no_data")],
            read.Rows.Select(r => (r.Initiative, r.Kpi, r.TimestampMs, r.Value, r.Status)));
        Assert.Equal(3, read.LastRow);
    }

    [Fact]
    public void Since_FromRowZero_LeavesOutKpisNotAsked()
    {
        _store.Append([Evaluation("cloud", "uptime", T0, 0.99, 0.9, KpiStatus.Met), Evaluation("cloud", "latency", T0, 0.2, 0.3, KpiStatus.Met)]);

        var read = _store.Since(0, T0, [("cloud", "latency"), ("other", "uptime")]);

        Assert.Equal([("cloud", "latency")], read.Rows.Select(r => (r.Initiative, r.Kpi)));
    }

    [Fact]
    public void Since_TheLastRowReadBefore_ReturnsOnlyRowsStoredSince()
    {
        _store.Append([Evaluation("cloud", "uptime", T0, 0.99, 0.9, KpiStatus.Met)]);
        var first = _store.Since(0, T0.AddDays(-1), [("cloud", "uptime")]);
        _store.Append([Evaluation("cloud", "uptime", T0.AddMinutes(5), 0.98, 0.9, KpiStatus.Met)]);

        var second = _store.Since(first.LastRow, T0.AddDays(-1), [("cloud", "uptime")]);
        var third = _store.Since(second.LastRow, T0.AddDays(-1), [("cloud", "uptime")]);

        Assert.Equal([T0.AddMinutes(5).ToUnixTimeMilliseconds()], second.Rows.Select(r => r.TimestampMs));
        Assert.True(second.LastRow > first.LastRow);
        Assert.Empty(third.Rows);
        Assert.Equal(second.LastRow, third.LastRow);
    }

    [Fact]
    public void Thinned_ManyRowsPerBucket_ReturnsTheNewestRowOfEachBucketFromTheSpansStart()
    {
        // Four hours cut into 4: one-hour buckets, counted from the epoch, so whole hours of T0; the span starts
        // half-way through the first.
        var span = new ThinnedSpan("cloud", "uptime", T0.AddMinutes(30), T0.AddHours(4.5));
        _store.Append(
        [
            Evaluation("cloud", "uptime", T0.AddMinutes(10), 1, 0.9, KpiStatus.Missed), // before the span
            Evaluation("cloud", "uptime", T0.AddMinutes(40), 2, 0.9, KpiStatus.Met),
            Evaluation("cloud", "uptime", T0.AddMinutes(50), 3, 0.9, KpiStatus.Met), // newest of 12:00-13:00
            Evaluation("other", "uptime", T0.AddMinutes(55), 30, 0.9, KpiStatus.Met), // another KPI
            Evaluation("cloud", "uptime", T0.AddHours(1), 4, 0.9, KpiStatus.Met), // alone in 13:00-14:00
            Evaluation("cloud", "uptime", T0.AddMinutes(170), 6, 0.9, KpiStatus.Met), // newest of 14:00-15:00 ...
        ]);
        _store.Append([Evaluation("cloud", "uptime", T0.AddMinutes(140), 5, 0.9, KpiStatus.Met)]); // ... stored after an older one
        _store.Append([Evaluation("cloud", "uptime", T0.AddMinutes(190), 7, 0.9, KpiStatus.Met)]);
        _store.Append([Evaluation("cloud", "uptime", T0.AddMinutes(190), 8, 0.9, KpiStatus.Met)]); // the same instant again: the last stored
        _store.Append(
        [
            Evaluation("cloud", "uptime", T0.AddMinutes(285), 9, 0.9, KpiStatus.Met), // after To: From <= ts is the only bound
            Evaluation("cloud", "uptime", T0.AddMinutes(305), null, 0.9, KpiStatus.NoData),
        ]);

        var read = _store.Thinned([span], 4);

        Assert.Equal(
        [
            (T0.AddMinutes(50), (double?)3, "met"), (T0.AddHours(1), 4, "met"), (T0.AddMinutes(170), 6, "met"),
            (T0.AddMinutes(190), 8, "met"), (T0.AddMinutes(285), 9, "met"), (T0.AddMinutes(305), null, "no_data"),
        ],
        read.Rows.Select(r => (DateTimeOffset.FromUnixTimeMilliseconds(r.TimestampMs), r.Value, r.Status)));
        Assert.All(read.Rows, r => Assert.Equal(("cloud", "uptime"), (r.Initiative, r.Kpi)));
        Assert.Equal(CountRows("evaluations"), read.LastRow);
    }

    [Fact]
    public void Thinned_SameStoredRows_GivesExactlyTheRowsTheInMemoryDefaultKeeps()
    {
        // Several KPIs of several spans and grains; rows in shuffled batches, some at the same instant, some before
        // the span, some after its end, some without a value.
        var random = new Random(20261205);
        var spans = new[]
        {
            new ThinnedSpan("cloud", "uptime", T0.AddDays(-7), T0),
            new ThinnedSpan("cloud", "latency", T0.AddHours(-1).AddMilliseconds(-123.4), T0),
            new ThinnedSpan("db", "p95", T0.AddDays(-1).AddMinutes(-7), T0),
            new ThinnedSpan("db", "empty", T0.AddDays(-1), T0),
        };
        foreach (var batch in Enumerable.Range(0, 20))
        {
            _store.Append(spans.Take(3).SelectMany(s => Enumerable.Range(0, 40).Select(_ =>
            {
                var length = (s.To - s.From).TotalMilliseconds;
                var at = s.From.AddMilliseconds(Math.Round(((random.NextDouble() * 1.2) - 0.1) * length / 1000) * 1000);
                return Evaluation(s.Initiative, s.Kpi, at, random.Next(10) == 0 ? null : random.Next(1000), 500, KpiStatus.OnTrack);
            })).ToList());
        }

        foreach (var maxPoints in new[] { 1, 7, 96 })
        {
            var stored = _store.Thinned(spans, maxPoints);
            var inMemory = ((IEvaluationStore)new DefaultThinning(_store)).Thinned(spans, maxPoints);

            Assert.Equal(inMemory.LastRow, stored.LastRow);
            Assert.Equal(inMemory.Rows, stored.Rows);
            // Over From..To, at most a bucket more than asked (one straddles each end).
            Assert.InRange(stored.Rows.Count(r => r.Kpi == "latency" && r.TimestampMs <= T0.ToUnixTimeMilliseconds()), 1, maxPoints + 1);
        }
    }

    [Fact]
    public void Thinned_ARowFarInTheFuture_CostsOneBucketAndKeepsTheRule()
    {
        // A clock that jumped stored a row centuries ahead: a read that visits every bucket up to the newest row would
        // walk tens of millions of empty 15-minute buckets before the board could draw anything.
        var span = new ThinnedSpan("cloud", "uptime", T0.AddDays(-1), T0);
        _store.Append(
        [
            Evaluation("cloud", "uptime", T0.AddHours(-2), 1, 0.9, KpiStatus.Met),
            Evaluation("cloud", "uptime", T0.AddHours(-1), 2, 0.9, KpiStatus.Met),
            Evaluation("cloud", "uptime", new DateTimeOffset(2999, 1, 1, 0, 0, 0, TimeSpan.Zero), 3, 0.9, KpiStatus.Met),
        ]);

        var stored = _store.Thinned([span], 96);
        var inMemory = ((IEvaluationStore)new DefaultThinning(_store)).Thinned([span], 96);

        Assert.Equal(inMemory.Rows, stored.Rows);
        Assert.Equal([(double?)1, 2, 3], stored.Rows.Select(r => r.Value));
    }

    [Fact]
    public void Thinned_ThenSinceItsLastRow_ReturnsOnlyRowsStoredAfter()
    {
        _store.Append([Evaluation("cloud", "uptime", T0, 0.99, 0.9, KpiStatus.Met)]);
        var thinned = _store.Thinned([new ThinnedSpan("cloud", "uptime", T0.AddDays(-1), T0)], 96);
        _store.Append([Evaluation("cloud", "uptime", T0.AddMinutes(5), 0.98, 0.9, KpiStatus.Met)]);

        var since = _store.Since(thinned.LastRow, T0.AddDays(-1), [("cloud", "uptime")]);

        Assert.Equal([T0.ToUnixTimeMilliseconds()], thinned.Rows.Select(r => r.TimestampMs));
        Assert.Equal([T0.AddMinutes(5).ToUnixTimeMilliseconds()], since.Rows.Select(r => r.TimestampMs));
    }

    [Fact]
    public void Thinned_NoSpans_ReturnsNoRowsAndTheLastRow()
    {
        _store.Append([Evaluation("cloud", "uptime", T0, 0.99, 0.9, KpiStatus.Met)]);

        var read = _store.Thinned([], 96);

        Assert.Empty(read.Rows);
        Assert.Equal(1, read.LastRow);
    }

    [Fact]
    public void Append_TwoCalls_AccumulateRows()
    {
        _store.Append([Evaluation("frontend", "p95", T0, 2.4, 1.92, KpiStatus.AtRisk)]);
        _store.Append([Evaluation("frontend", "p95", T0.AddMinutes(5), 2.3, 1.92, KpiStatus.AtRisk)]);

        Assert.Equal(2, _store.History("frontend", "p95", T0, T0.AddHours(1)).Count);
    }

    [Fact]
    public void Latest_SeveralKpis_ReturnsEachKpisNewestRow()
    {
        _store.Append(
        [
            Evaluation("frontend", "p95", T0, 2.4, 1.92, KpiStatus.AtRisk),
            Evaluation("frontend", "p95", T0.AddMinutes(10), 1.9, 1.92, KpiStatus.Met),
            Evaluation("frontend", "p95", T0.AddMinutes(5), 2.1, 1.92, KpiStatus.OnTrack),
            Evaluation("cloud-migration", "uptime", T0.AddMinutes(1), null, 0.999, KpiStatus.NoData),
            Evaluation("cloud-migration", "uptime", T0, 0.9995, 0.999, KpiStatus.Met),
        ]);

        var latest = _store.Latest();

        Assert.Equal(2, latest.Count);
        Assert.Equal(new StoredEvaluation(T0.AddMinutes(10).ToUnixTimeMilliseconds(), 1.9, 1.92, "met", IEvaluationStore.CurrentRules), latest[("frontend", "p95")]);
        Assert.Equal(new StoredEvaluation(T0.AddMinutes(1).ToUnixTimeMilliseconds(), null, 0.999, "no_data", IEvaluationStore.CurrentRules), latest[("cloud-migration", "uptime")]);
    }

    [Fact]
    public void Latest_AfterReopeningTheDatabase_StillReturnsTheStoredRows()
    {
        _store.Append([Evaluation("frontend", "p95", T0, 2.4, 1.92, KpiStatus.AtRisk)]);

        var reopened = Backend.Open().Evaluations;

        Assert.Equal(new StoredEvaluation(T0.ToUnixTimeMilliseconds(), 2.4, 1.92, "at_risk", IEvaluationStore.CurrentRules), reopened.Latest()[("frontend", "p95")]);
    }

    [Fact]
    public void Baseline_NeverSaved_IsNull()
    {
        Assert.Null(_store.Baseline("frontend", "p95", October1, October31, "avg"));
    }

    [Fact]
    public void SaveBaseline_ThenBaseline_ReturnsValueSamplesAndComputedAt()
    {
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, 250, TimeSpan.Zero);

        _store.SaveBaseline("frontend", "p95", October1, October31, "avg", 2.4, 4464, at);

        var stored = _store.Baseline("frontend", "p95", October1, October31, "avg");
        Assert.Equal(new StoredBaseline(2.4, 4464, at), stored);
    }

    [Fact]
    public void SaveBaseline_SecondSaveOfSamePeriod_KeepsTheFirstValue()
    {
        var first = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        _store.SaveBaseline("frontend", "p95", October1, October31, "avg", 2.4, 100, first);

        _store.SaveBaseline("frontend", "p95", October1, October31, "avg", 9.9, 999, first.AddDays(1));

        Assert.Equal(new StoredBaseline(2.4, 100, first), _store.Baseline("frontend", "p95", October1, October31, "avg"));
        Assert.Equal(1, CountRows("baselines"));
    }

    [Theory]
    [InlineData("cloud-migration", "p95", "2026-10-01", "2026-10-31", "avg")]
    [InlineData("frontend", "lcp", "2026-10-01", "2026-10-31", "avg")]
    [InlineData("frontend", "p95", "2026-10-02", "2026-10-31", "avg")]
    [InlineData("frontend", "p95", "2026-10-01", "2026-11-30", "avg")]
    [InlineData("frontend", "p95", "2026-10-01", "2026-10-31", "p95")]
    public void Baseline_DifferentKey_IsNotTheSavedOne(string initiative, string kpi, string from, string to, string aggregate)
    {
        _store.SaveBaseline("frontend", "p95", October1, October31, "avg", 2.4, 100, T0);

        Assert.Null(_store.Baseline(initiative, kpi, DateOnly.Parse(from), DateOnly.Parse(to), aggregate));
    }

    [Fact]
    public void SaveBaseline_SamePeriodWithAnotherAggregate_IsStoredSeparately()
    {
        _store.SaveBaseline("frontend", "p95", October1, October31, "avg", 2.4, 100, T0);
        _store.SaveBaseline("frontend", "p95", October1, October31, "max", 3.7, 100, T0);

        Assert.Equal(2.4, _store.Baseline("frontend", "p95", October1, October31, "avg")!.Value);
        Assert.Equal(3.7, _store.Baseline("frontend", "p95", October1, October31, "max")!.Value);
    }

    /// <summary>The store with <see cref="IEvaluationStore.Thinned"/> left to the interface's default: the in-memory path.</summary>
    private sealed class DefaultThinning(IEvaluationStore inner) : IEvaluationStore
    {
        public void Append(IReadOnlyCollection<KpiEvaluation> evaluations) => inner.Append(evaluations);

        public IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => inner.Values(initiative, kpi, from, to);

        public IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => inner.History(initiative, kpi, from, to);

        public EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis) => inner.Since(afterRow, from, kpis);

        public IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest() => inner.Latest();

        public StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition) => inner.Baseline(initiative, kpi, from, to, definition);

        public void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at) =>
            inner.SaveBaseline(initiative, kpi, from, to, definition, value, samples, at);
    }
}
