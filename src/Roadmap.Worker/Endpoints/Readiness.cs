using Quartz;
using Roadmap.Storage;
using Roadmap.Worker.Cluster;

namespace Roadmap.Worker.Endpoints;

/// <summary>
/// Ready means: the database is open and its writer running (and its file still where it was opened, or opened there
/// again, or its server answering), and the scheduler is started; in a cluster also that the replica's clock agrees
/// with the database's.
/// </summary>
public sealed class Readiness(IPollWriter writer, ISchedulerFactory schedulers, ClusterMembership membership)
{
    /// <summary>A replica whose clock is further than this from the database's is not ready: ticks and windows are judged by both. 1 s.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(1);

    /// <summary>Null when ready, else why not.</summary>
    public async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        if (!writer.IsRunning)
        {
            return "the database writer is not running";
        }

        if (writer.Health == StorageHealth.FileLost)
        {
            return $"the database file is lost and cannot be opened again yet: {writer.LastError}";
        }

        if (writer.Health == StorageHealth.Unreachable)
        {
            // Polls go on and wait in the queue; a load balancer should still know this replica stores nothing now.
            return $"the database server is unreachable; polls wait in the queue: {writer.LastError}";
        }

        if (membership.Enabled && membership.ClockSkewKnown && membership.ClockSkew.Duration() > MaxClockSkew)
        {
            return $"this replica's clock is {membership.ClockSkew.TotalSeconds:0.###} s off the database's (at most {MaxClockSkew.TotalSeconds:0} s): sync it (NTP)";
        }

        var scheduler = await schedulers.GetScheduler(cancellationToken);
        if (await scheduler.GetStatus(cancellationToken) != SchedulerStatus.Running)
        {
            return "the scheduler is not running";
        }

        return null;
    }
}
