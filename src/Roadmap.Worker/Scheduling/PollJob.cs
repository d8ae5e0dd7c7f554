using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Storage;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Scheduling;

/// <summary>
/// Polls one source (the job's key names it), queues the result for storage and records it in the metrics.
/// One Quartz job per source with concurrent execution disallowed: runs of one source never overlap.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class PollJob(SourcePool sources, BatchedWriter writer, RoadmapMetrics metrics, TimeProvider time, ILogger<PollJob> log) : IJob
{
    public const string Group = "poll";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var id = context.JobDetail.Key.Name;
        if (sources.Find(id) is not { } source)
        {
            return;
        }

        var at = time.GetUtcNow();
        var result = await source.PollAsync(cancellationToken);
        if (!result.Success)
        {
            LogPollFailed(log, id, result.Failure!);
        }

        metrics.RecordPoll(source.Config, result, at);
        writer.TryEnqueue(new PollRecord(
            id,
            at.ToUnixTimeMilliseconds(),
            result.Duration.TotalSeconds,
            result.Success,
            result.Failure,
            result.Samples.Select(s => new SignalSample(s.Signal, s.Value)).ToList()));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poll of source {Source} failed: {Reason}")]
    private static partial void LogPollFailed(ILogger log, string source, string reason);
}
