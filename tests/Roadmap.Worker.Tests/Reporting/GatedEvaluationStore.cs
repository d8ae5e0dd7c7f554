using Roadmap.Core.Evaluation;
using Roadmap.Storage;

namespace Roadmap.Worker.Tests.Reporting;

/// <summary>
/// A real store whose whole-history reads (<see cref="IEvaluationStore.Thinned"/>, and <see cref="IEvaluationStore.Since"/>
/// from row 0) wait until the test opens the gate: a cold start on a slow disk, held as long as the test wants. Counts
/// the calls, so a test sees which reads were made.
/// </summary>
internal sealed class GatedEvaluationStore(IEvaluationStore inner) : IEvaluationStore, IDisposable
{
    private readonly ManualResetEventSlim _gate = new(initialState: true);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _thinned;
    private int _sinceFromZero;

    /// <summary>Completes when a whole-history read reaches the gate.</summary>
    public Task Entered => _entered.Task;

    public int ThinnedCalls => Volatile.Read(ref _thinned);

    public int SinceFromZeroCalls => Volatile.Read(ref _sinceFromZero);

    public void Close() => _gate.Reset();

    public void Open() => _gate.Set();

    public EvaluationRows Thinned(IReadOnlyCollection<ThinnedSpan> spans, int maxPoints)
    {
        Interlocked.Increment(ref _thinned);
        Wait();
        return inner.Thinned(spans, maxPoints);
    }

    public EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis)
    {
        if (afterRow == 0)
        {
            Interlocked.Increment(ref _sinceFromZero);
            Wait();
        }

        return inner.Since(afterRow, from, kpis);
    }

    private void Wait()
    {
        _entered.TrySetResult();
        // Bounded, so a test that forgets to open the gate ends; far longer than any test waits.
        _gate.Wait(TimeSpan.FromMinutes(2));
    }

    public void Append(IReadOnlyCollection<KpiEvaluation> evaluations) => inner.Append(evaluations);

    public IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => inner.Values(initiative, kpi, from, to);

    public IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => inner.History(initiative, kpi, from, to);

    public IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest() => inner.Latest();

    public StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition) => inner.Baseline(initiative, kpi, from, to, definition);

    public void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at) =>
        inner.SaveBaseline(initiative, kpi, from, to, definition, value, samples, at);

    public void Dispose()
    {
        _gate.Set();
        _gate.Dispose();
    }
}
