using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Storage;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// A firing of one of the clustered claim triggers: claims the coming windows of every shard for their homes. Quartz
/// fires each trigger on one replica of the cluster; a firing doubled by Quartz, or run late after a recovery, only
/// finds the windows already owned.
/// </summary>
public sealed partial class ClaimJob(ClusterMembership membership, ClusterMetrics metrics, ILogger<ClaimJob> log) : IJob
{
    /// <summary>The job the claim triggers fire.</summary>
    public static readonly JobKey Key = new("claim", "roadmap-cluster");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        Run(membership, metrics, log);
        return ValueTask.CompletedTask;
    }

    /// <summary>One claim, counted; a claim the database did not take is logged and counted as failed, never thrown.</summary>
    public static void Run(ClusterMembership membership, ClusterMetrics metrics, ILogger log)
    {
        try
        {
            var (requested, written) = membership.Claim();
            metrics.RecordClaim(requested, written);
        }
        catch (StorageException e)
        {
            metrics.RecordClaimFailure();
            LogClaimFailed(log, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: claiming shard windows failed: {Reason}")]
    private static partial void LogClaimFailed(ILogger log, string reason);
}
