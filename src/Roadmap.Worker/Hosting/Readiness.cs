using Quartz;
using Roadmap.Storage;

namespace Roadmap.Worker.Hosting;

/// <summary>Ready means: the database is open and its writer running, and the scheduler is started.</summary>
public sealed class Readiness(BatchedWriter writer, ISchedulerFactory schedulers)
{
    /// <summary>Null when ready, else why not.</summary>
    public async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        if (!writer.IsRunning)
        {
            return "the database writer is not running";
        }

        var scheduler = await schedulers.GetScheduler(cancellationToken);
        if (await scheduler.GetStatus(cancellationToken) != SchedulerStatus.Running)
        {
            return "the scheduler is not running";
        }

        return null;
    }
}
