using Quartz;
using Roadmap.Worker.Evaluation;

namespace Roadmap.Worker.Scheduling;

/// <summary>Re-judges every KPI, every <c>settings.evaluateEvery</c>.</summary>
[DisallowConcurrentExecution]
public sealed class EvaluateJob(EvaluationService evaluation) : IJob
{
    public static readonly JobKey Key = new("evaluate", "roadmap");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        evaluation.EvaluateAll();
        return ValueTask.CompletedTask;
    }
}
