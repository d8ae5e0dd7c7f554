using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Sources;
using Roadmap.Sources.Network;
using Quartz;
using Roadmap.Core.Config;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Scheduling;

/// <summary>
/// Puts one poll job per source and the evaluation job on the Quartz scheduler at start. The job and trigger shapes
/// live here so a config reload schedules exactly as the start does.
/// </summary>
public sealed class ScheduleRegistrar(CurrentConfig current, ISchedulerFactory factory, SourceKindRegistry kinds, TimeProvider time, ILoggerFactory logs) : IHostedService
{
    // Replace: a reload re-schedules an id that already has a job.
    private static readonly ScheduleJobOptions Replace = new() { Replace = true };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var config = current.Value;
        await WarmUpAsync(kinds, config.Sources.Select(s => s.Kind), new SourceContext(time, logs, new NetworkPolicy(config.Settings.Network)), cancellationToken);

        var scheduler = await factory.GetScheduler(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var source in config.Sources)
        {
            await SchedulePollAsync(scheduler, source, config.Settings.TimeZone, now, cancellationToken);
        }

        await ScheduleEvaluationAsync(scheduler, config.Settings.EvaluateEvery, now, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Warms up each of these kinds once (see <see cref="PollGuard.WarmUpAsync"/>: a failing warm-up is passed over).</summary>
    public static Task WarmUpAsync(SourceKindRegistry kinds, IEnumerable<string> kindNames, SourceContext context, CancellationToken cancellationToken) =>
        PollGuard.WarmUpAsync(kindNames.Distinct().Select(kinds.Get), context, cancellationToken);

    /// <summary>
    /// Schedules (or, for an id already scheduled, replaces) the source's poll job: first poll at
    /// <paramref name="start"/>, then on its interval or cron (in <paramref name="zone"/>).
    /// </summary>
    public static async Task SchedulePollAsync(IScheduler scheduler, SourceConfig source, TimeZoneInfo zone, DateTimeOffset start, CancellationToken cancellationToken)
    {
        var job = JobBuilder.Create<PollJob>().WithIdentity(PollKey(source.Id)).Build();
        var trigger = TriggerBuilder.Create().WithIdentity(source.Id, PollJob.Group).ForJob(job);
        trigger = source.Schedule.Every is { } every
            // A missed tick is skipped, not replayed: a burst of catch-up polls would measure nothing new. A tick is
            // missed once it is a whole interval late, but never sooner than 1 s (at most Quartz's 60 s): the default
            // 60 s would let a 1 s source that fell behind fire up to 60 catch-up polls, while a tighter threshold would
            // silently skip polls that are merely late on a busy machine (and hide them from the lateness histogram).
            ? trigger.StartAt(start + Spread(source.Id, every))
                .WithMisfireThreshold(TimeSpan.FromMilliseconds(Math.Clamp(every.TotalMilliseconds, 1_000, 60_000)))
                .WithSimpleSchedule(s => s.WithInterval(every).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            : trigger.StartAt(start).WithCronSchedule(source.Schedule.Cron!, c => c.InTimeZone(zone).WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing));
        await scheduler.ScheduleJob(job, trigger.Build(), Replace, cancellationToken);
    }

    /// <summary>Schedules (or replaces) the evaluation job: first round a second after <paramref name="start"/>, then every <paramref name="every"/>.</summary>
    public static async Task ScheduleEvaluationAsync(IScheduler scheduler, TimeSpan every, DateTimeOffset start, CancellationToken cancellationToken)
    {
        var evaluate = JobBuilder.Create<EvaluateJob>().WithIdentity(EvaluateJob.Key).Build();
        var trigger = TriggerBuilder.Create()
            .WithIdentity(EvaluateJob.Key.Name, EvaluateJob.Key.Group)
            .StartAt(start + TimeSpan.FromSeconds(1))
            .WithSimpleSchedule(s => s.WithInterval(every).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();
        await scheduler.ScheduleJob(evaluate, trigger, Replace, cancellationToken);
    }

    /// <summary>
    /// A stable offset in [0, min(every, 1 s)) from the source id: thousands of sources on one interval would otherwise
    /// all fire at one instant every tick, and the last of them start late. Capped at a second so a long interval
    /// still polls first right after start.
    /// </summary>
    public static TimeSpan Spread(string sourceId, TimeSpan every)
    {
        var range = (long)Math.Min(every.TotalMilliseconds, 1000);
        if (range <= 1)
        {
            return TimeSpan.Zero;
        }

        // FNV-1a: string.GetHashCode is randomized per process, and the offset should not move on a restart.
        var hash = 2166136261u;
        foreach (var c in sourceId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return TimeSpan.FromMilliseconds(hash % range);
    }

    /// <summary>The poll job of the source with this id.</summary>
    public static JobKey PollKey(string sourceId) => new(sourceId, PollJob.Group);
}
