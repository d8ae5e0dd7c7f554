using Quartz;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Telemetry;

namespace Roadmap.Worker.Scheduling;

/// <summary>Re-judges every KPI, every <c>settings.evaluateEvery</c>.</summary>
[DisallowConcurrentExecution]
public sealed class EvaluateJob(EvaluationService evaluation, RoadmapTelemetry telemetry, ClusterMembership membership, SnapshotSharing sharing, TimeProvider time) : IJob
{
    public static readonly JobKey Key = new("evaluate", "roadmap");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        // In a cluster one replica evaluates (the owner of this round's window); the others take its stored round.
        // The round is the grid's nearest to the scheduled time (Quartz may shift a trigger's phase a little).
        var scheduled = context.ScheduledFireTimeUtc ?? time.GetUtcNow();
        var every = TimeSpan.FromMilliseconds(membership.Shape.EvaluateMs);
        if (membership.Enabled && !membership.Evaluates(ScheduleRegistrar.NearestTick(string.Empty, every, scheduled, spread: false).ToUnixTimeMilliseconds()))
        {
            sharing.Follow();
            return ValueTask.CompletedTask;
        }

        using var span = telemetry.Source.StartActivity("evaluate", System.Diagnostics.ActivityKind.Internal);
        var snapshot = evaluation.EvaluateAll();
        span?.SetTag("roadmap.kpis", snapshot.Kpis.Count);
        span?.SetTag("roadmap.kpis.met", snapshot.Kpis.Count(k => k.Status == Roadmap.Core.Evaluation.KpiStatus.Met));
        telemetry.RecordEvaluation();
        if (membership.Enabled)
        {
            sharing.Publish(snapshot);
        }

        return ValueTask.CompletedTask;
    }
}
