using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Evaluation;

/// <summary>
/// Judges every KPI: reads its window from storage, asks the pure evaluator, publishes the result.
/// The latest judgements are kept for the API and the board.
/// </summary>
public sealed class EvaluationService(RoadmapConfig config, SampleReader reader, RoadmapMetrics metrics, TimeProvider time)
{
    private volatile IReadOnlyList<KpiEvaluation> _latest = [];

    public IReadOnlyList<KpiEvaluation> Latest => _latest;

    public IReadOnlyList<KpiEvaluation> EvaluateAll()
    {
        var now = time.GetUtcNow();
        var zone = config.Settings.TimeZone;
        var results = new List<KpiEvaluation>();
        foreach (var initiative in config.Initiatives)
        {
            foreach (var kpi in initiative.Kpis)
            {
                var (from, to) = KpiEvaluator.WindowOf(kpi, now, zone);
                var points = reader.Read(kpi.Source, kpi.Signal, from, to);
                var denominator = kpi.Denominator.SelectMany(d => reader.Read(kpi.Source, d, from, to)).ToList();
                var evaluation = KpiEvaluator.Evaluate(initiative.Id, kpi, new KpiSamples(points, denominator), now, zone);
                metrics.RecordEvaluation(evaluation);
                results.Add(evaluation);
            }
        }

        metrics.RecordEvaluationRound();
        _latest = results;
        return results;
    }
}
