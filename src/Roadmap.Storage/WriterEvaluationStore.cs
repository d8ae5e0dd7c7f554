using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// An <see cref="IEvaluationStore"/> whose appends go through the running writer, on its own connection
/// (<see cref="IPollWriter.AppendEvaluations"/>), and straight to the store when the writer does not run (the report
/// verb, a stop). Every read goes to the store.
/// </summary>
public sealed class WriterEvaluationStore(IEvaluationStore store, IPollWriter writer) : IEvaluationStore
{
    public void Append(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        if (!writer.AppendEvaluations(evaluations))
        {
            store.Append(evaluations);
        }
    }

    public IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => store.Values(initiative, kpi, from, to);

    public IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => store.History(initiative, kpi, from, to);

    public EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis) => store.Since(afterRow, from, kpis);

    public EvaluationRows Thinned(IReadOnlyCollection<ThinnedSpan> spans, int maxPoints) => store.Thinned(spans, maxPoints);

    public IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest() => store.Latest();

    public StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition) => store.Baseline(initiative, kpi, from, to, definition);

    public void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at) =>
        store.SaveBaseline(initiative, kpi, from, to, definition, value, samples, at);
}
