using Quartz;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Telemetry;

namespace Roadmap.Worker.Scheduling;

/// <summary>Re-judges every KPI, every <c>settings.evaluateEvery</c>.</summary>
[DisallowConcurrentExecution]
public sealed class EvaluateJob(EvaluationService evaluation, RoadmapTelemetry telemetry) : IJob
{
    public static readonly JobKey Key = new("evaluate", "roadmap");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        using var span = telemetry.Source.StartActivity("evaluate", System.Diagnostics.ActivityKind.Internal);
        var snapshot = evaluation.EvaluateAll();
        span?.SetTag("roadmap.kpis", snapshot.Kpis.Count);
        span?.SetTag("roadmap.kpis.met", snapshot.Kpis.Count(k => k.Status == Roadmap.Core.Evaluation.KpiStatus.Met));
        telemetry.RecordEvaluation();
        return ValueTask.CompletedTask;
    }
}
