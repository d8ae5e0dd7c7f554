using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;
using Quartz.Extensibility;
using Quartz.Impl;

namespace Roadmap.Worker.Scheduling;

/// <summary>
/// Hands every firing of a poll trigger the one <see cref="PollJob"/> of the host; other jobs are built as Quartz's own
/// factory builds them. Quartz's factory opens a dependency injection scope per firing, builds the job in it and
/// merges the job's and the trigger's data maps for it: at thousands of polls a second that was a scope, a job and a
/// map per poll, all garbage a millisecond later. <see cref="PollJob"/> keeps nothing between runs (everything it
/// holds is a singleton of the host), so one instance serves every source and every firing.
/// </summary>
public sealed class PollJobFactory(IServiceProvider services, IOptions<JobFactoryOptions> options, ILoggerFactory logs)
    : MicrosoftDependencyInjectionJobFactory(services, options, logs)
{
    private readonly Lazy<PollJob> _poll = new(() => ActivatorUtilities.CreateInstance<PollJob>(services));

    public override ValueTask<JobScope> CreateJob(TriggerFiredBundle bundle, IScheduler scheduler, CancellationToken cancellationToken) =>
        bundle.JobDetail.JobType.Type == typeof(PollJob)
            ? new ValueTask<JobScope>(new JobScope(_poll.Value, null))
            : base.CreateJob(bundle, scheduler, cancellationToken);

    // Every PollJob is the shared one: CreateJob hands out no other.
    public override ValueTask ReturnJob(JobScope scope, CancellationToken cancellationToken) =>
        scope.Job is PollJob ? ValueTask.CompletedTask : base.ReturnJob(scope, cancellationToken);
}
