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

    /// <summary>The trigger group of the one-off polls and round a single process runs right after its start.</summary>
    public const string StartGroup = "start";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var config = current.Value;
        await WarmUpAsync(kinds, config.Sources.Select(s => s.Kind), new SourceContext(time, logs, new NetworkPolicy(config.Settings.Network)), cancellationToken);

        var scheduler = await factory.GetScheduler(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var source in config.Sources)
        {
            await SchedulePollAsync(scheduler, source, config.Settings.TimeZone, now, !config.Settings.Cluster.Enabled, cancellationToken);
        }

        await ScheduleEvaluationAsync(scheduler, config.Settings.EvaluateEvery, now, !config.Settings.Cluster.Enabled, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Warms up each of these kinds once (see <see cref="PollGuard.WarmUpAsync"/>: a failing warm-up is passed over).</summary>
    public static Task WarmUpAsync(SourceKindRegistry kinds, IEnumerable<string> kindNames, SourceContext context, CancellationToken cancellationToken) =>
        PollGuard.WarmUpAsync(kindNames.Distinct().Select(kinds.Get), context, cancellationToken);

    /// <summary>
    /// Schedules (or, for an id already scheduled, replaces) the source's poll job on its interval or cron (in
    /// <paramref name="zone"/>). Interval ticks lie on a grid every replica agrees on, whenever it started:
    /// <c>n × every + Spread(id)</c> unix milliseconds (see <see cref="NextTick"/>).
    /// </summary>
    /// <param name="pollAtStart">Also poll once a moment after <paramref name="start"/> when the first tick is more than
    /// half an interval (at least 1 s, at most 5 s) after that (a single process: data at once rather than after up to
    /// one interval). Never in a cluster, where only ticks are owned.</param>
    public static async Task SchedulePollAsync(IScheduler scheduler, SourceConfig source, TimeZoneInfo zone, DateTimeOffset start, bool pollAtStart, CancellationToken cancellationToken)
    {
        var job = JobBuilder.Create<PollJob>().WithIdentity(PollKey(source.Id)).Build();
        var trigger = TriggerBuilder.Create().WithIdentity(source.Id, PollJob.Group).ForJob(job);
        var triggers = new List<ITrigger>(2);
        if (source.Schedule.Every is { } every)
        {
            // A missed tick is skipped, not replayed: a burst of catch-up polls would measure nothing new. A tick is
            // missed once it is a whole interval late, but never sooner than 1 s (at most Quartz's 60 s): the default
            // 60 s would let a 1 s source that fell behind fire up to 60 catch-up polls, while a tighter threshold would
            // silently skip polls that are merely late on a busy machine (and hide them from the lateness histogram).
            var first = NextTick(source.Id, every, start);
            triggers.Add(trigger.StartAt(first)
                .WithMisfireThreshold(MissedAfter(every))
                .WithSimpleSchedule(s => s.WithInterval(every).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build());
            // Not when the first tick follows soon after: two polls back to back would measure one moment twice.
            var early = start + Spread(source.Id, every);
            if (pollAtStart && first - early > StartPollGap(every))
            {
                triggers.Add(TriggerBuilder.Create().WithIdentity(source.Id, StartGroup).ForJob(job).StartAt(early).Build());
            }
        }
        else
        {
            triggers.Add(trigger.StartAt(start).WithCronSchedule(source.Schedule.Cron!, c => c.InTimeZone(zone).WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)).Build());
        }

        await scheduler.ScheduleJob(job, triggers, Replace, cancellationToken);
    }

    /// <summary>
    /// Schedules (or replaces) the evaluation job every <paramref name="every"/> on the same kind of grid as the polls
    /// (<c>n × every</c>), so the replicas of a cluster agree on each round; in a single process also once a second
    /// after <paramref name="start"/> when the first round is further away.
    /// </summary>
    public static async Task ScheduleEvaluationAsync(IScheduler scheduler, TimeSpan every, DateTimeOffset start, bool evaluateAtStart, CancellationToken cancellationToken)
    {
        var evaluate = JobBuilder.Create<EvaluateJob>().WithIdentity(EvaluateJob.Key).Build();
        var first = NextTick(string.Empty, every, start, spread: false);
        var triggers = new List<ITrigger>(2)
        {
            TriggerBuilder.Create()
                .WithIdentity(EvaluateJob.Key.Name, EvaluateJob.Key.Group)
                .StartAt(first)
                .WithSimpleSchedule(s => s.WithInterval(every).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build(),
        };
        // A round a second after start whenever the grid's first is further: the board and /metrics show a judgement at
        // once (a second round close after it costs one evaluation, not a second sample of anything).
        if (evaluateAtStart && first - start > TimeSpan.FromSeconds(1))
        {
            triggers.Add(TriggerBuilder.Create().WithIdentity(EvaluateJob.Key.Name, StartGroup).ForJob(evaluate).StartAt(start + TimeSpan.FromSeconds(1)).Build());
        }

        await scheduler.ScheduleJob(evaluate, triggers, Replace, cancellationToken);
    }

    /// <summary>
    /// How late a tick of a source polled every <paramref name="every"/> is missed: one interval, at least 1 s, at most
    /// 60 s (Quartz's default). Quartz skips a trigger this late when it acquires it; <see cref="PollJob"/> applies it
    /// again in a cluster to a firing Quartz had acquired before the process was paused.
    /// </summary>
    public static TimeSpan MissedAfter(TimeSpan every) => TimeSpan.FromMilliseconds(Math.Clamp(every.TotalMilliseconds, 1_000, 60_000));

    /// <summary>How late a tick of <paramref name="schedule"/> is missed: <see cref="MissedAfter(TimeSpan)"/>, 60 s for a cron source.</summary>
    public static TimeSpan MissedAfter(PollSchedule schedule) => MissedAfter(schedule.Every ?? TimeSpan.FromSeconds(60));

    /// <summary>
    /// How far the first tick must be from the start poll for the start poll to be worth it: half the interval, but at
    /// least 1 s and at most 5 s (an hourly source still polls at once, and then on its grid).
    /// </summary>
    private static TimeSpan StartPollGap(TimeSpan every) =>
        TimeSpan.FromTicks(Math.Clamp(every.Ticks / 2, TimeSpan.TicksPerSecond, 5 * TimeSpan.TicksPerSecond));

    /// <summary>
    /// The first tick of a source at or after <paramref name="after"/>: ticks are <c>n × every + Spread(id, every)</c>
    /// unix milliseconds, the same on every replica and across restarts (like Prometheus' scrape offsets).
    /// </summary>
    /// <param name="spread">False for a grid with no offset (the evaluation rounds).</param>
    public static DateTimeOffset NextTick(string sourceId, TimeSpan every, DateTimeOffset after, bool spread = true)
    {
        var e = Math.Max(1, (long)every.TotalMilliseconds);
        var offset = spread ? (long)Spread(sourceId, every).TotalMilliseconds : 0;
        var t = after.ToUnixTimeMilliseconds();
        var r = (((t - offset) % e) + e) % e;
        return DateTimeOffset.FromUnixTimeMilliseconds(r == 0 ? t : t + (e - r));
    }

    /// <summary>
    /// The grid tick nearest to <paramref name="at"/>: what a firing Quartz scheduled at <paramref name="at"/> stands
    /// for (Quartz may shift a trigger's phase by some milliseconds, after a misfire for one; the tick is the grid's,
    /// the same on every replica).
    /// </summary>
    public static DateTimeOffset NearestTick(string sourceId, TimeSpan every, DateTimeOffset at, bool spread = true) =>
        NextTick(sourceId, every, at - (every / 2), spread);

    /// <summary>
    /// A stable offset in [0, min(every, 1 s)) from the source id, a whole number of <see cref="SpreadSlotMs"/> slots:
    /// thousands of sources on one interval would otherwise all fire at one instant every tick, and the last of them
    /// start late. Capped at a second so a long interval still polls first right after start.
    /// </summary>
    /// <remarks>
    /// Slots rather than milliseconds: the sources of one slot share their fire time, so the scheduler thread wakes
    /// once for the slot and hands its polls to the thread pool in one batch. With an instant of its own per source it
    /// woke, and woke a pool thread, once per poll: at 2,000 polls a second those context switches were about a third
    /// of the worker's CPU (docs/PERFORMANCE.md, the probe path). An interval too short for two slots spreads by the
    /// millisecond.
    /// </remarks>
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

        var slots = range / SpreadSlotMs;
        return TimeSpan.FromMilliseconds(slots >= 2 ? hash % slots * SpreadSlotMs : hash % range);
    }

    /// <summary>The width of a spread slot, in milliseconds (see <see cref="Spread"/>).</summary>
    public const long SpreadSlotMs = 10;

    /// <summary>The poll job of the source with this id.</summary>
    public static JobKey PollKey(string sourceId) => new(sourceId, PollJob.Group);
}
