using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Sources;
using Roadmap.Sources.Network;
using Quartz;
using Roadmap.Core.Config;

namespace Roadmap.Worker.Scheduling;

/// <summary>Puts one poll job per source and the evaluation job on the Quartz scheduler at start.</summary>
public sealed class ScheduleRegistrar(RoadmapConfig config, ISchedulerFactory factory, SourceKindRegistry kinds, TimeProvider time, ILoggerFactory logs) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var context = new SourceContext(time, logs, new NetworkPolicy(config.Settings.Network));
        foreach (var kind in config.Sources.Select(s => s.Kind).Distinct())
        {
            await kinds.Get(kind).WarmUpAsync(context, cancellationToken);
        }

        var scheduler = await factory.GetScheduler(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var source in config.Sources)
        {
            var job = JobBuilder.Create<PollJob>().WithIdentity(source.Id, PollJob.Group).Build();
            var trigger = TriggerBuilder.Create().WithIdentity(source.Id, PollJob.Group).ForJob(job);
            trigger = source.Schedule.Every is { } every
                // A missed tick is skipped, not replayed: a burst of catch-up polls would measure nothing new.
                ? trigger.StartAt(now).WithSimpleSchedule(s => s.WithInterval(every).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                : trigger.StartAt(now).WithCronSchedule(source.Schedule.Cron!, c => c.InTimeZone(config.Settings.TimeZone).WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing));
            await scheduler.ScheduleJob(job, trigger.Build(), new ScheduleJobOptions(), cancellationToken);
        }

        var evaluate = JobBuilder.Create<EvaluateJob>().WithIdentity(EvaluateJob.Key).Build();
        var evaluateTrigger = TriggerBuilder.Create()
            .WithIdentity(EvaluateJob.Key.Name, EvaluateJob.Key.Group)
            .StartAt(now + TimeSpan.FromSeconds(1))
            .WithSimpleSchedule(s => s.WithInterval(config.Settings.EvaluateEvery).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();
        await scheduler.ScheduleJob(evaluate, evaluateTrigger, new ScheduleJobOptions(), cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
