using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Events;
using Roadmap.Worker.Telemetry;

namespace Roadmap.Worker.Scheduling;

/// <summary>
/// Polls one source (the job's key names it), queues the result for storage and tells <see cref="IRoadmapEvents"/>.
/// One Quartz job per source. Runs of one source never overlap: a tick that comes while the source's previous poll
/// still runs is skipped and counted (<see cref="IRoadmapEvents.PollSkipped"/>), not queued; so is, in a cluster, a
/// firing held through a pause of the process once the source's shard is another replica's. That is done here rather
/// than with Quartz's <c>[DisallowConcurrentExecution]</c>, whose in-memory store wakes the scheduler thread at every
/// completion of such a job to unblock its triggers: once per poll, thousands of times a second.
/// </summary>
public sealed partial class PollJob(SourcePool sources, PollGuard guard, IPollWriter writer, IRoadmapEvents events, RoadmapTelemetry telemetry, ClusterMembership membership, TimeProvider time, ILogger<PollJob> log) : IJob
{
    public const string Group = "poll";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var id = context.JobDetail.Key.Name;
        // Held until the result is recorded: a reload that removes or replaces the source disposes it after that.
        await using var lease = sources.Acquire(id);
        if (lease is null)
        {
            return;
        }

        var source = lease.Source;
        var tick = TickOf(context, source.Config);
        // In a cluster, the replica that owns this tick's shard window polls it; every other replica lets it pass. And
        // a tick is polled once here, whatever Quartz fires for it.
        var tickMs = tick.ToUnixTimeMilliseconds();
        if (!membership.Polls(id, tickMs) || (context.Trigger.Key.Group != ScheduleRegistrar.StartGroup && !lease.TryTakeTick(tickMs)))
        {
            return;
        }

        // A firing Quartz held while this replica was paused comes after the pause, its tick long past; if the shard is
        // another replica's by now, that one may be polling the source this very moment. Skipped and counted.
        if (membership.Enabled && !membership.Polls(id, tickMs, time.GetUtcNow().ToUnixTimeMilliseconds(), ScheduleRegistrar.MissedAfter(source.Config.Schedule)))
        {
            events.PollSkipped(source.Config);
            return;
        }

        if (!lease.TryBeginPoll())
        {
            if (context.Trigger.Key.Group != ScheduleRegistrar.StartGroup)
            {
                events.PollSkipped(source.Config);
            }

            return;
        }

        // The span's name is formatted only when someone listens: thousands of polls a second would format it for nobody.
        using var span = telemetry.Source.HasListeners() ? telemetry.Source.StartActivity($"poll {id}", ActivityKind.Internal) : null;
        span?.SetTag("roadmap.source", id);
        span?.SetTag("roadmap.source.kind", source.Config.Kind);
        var at = time.GetUtcNow();
        events.PollStarted(at - tick);

        // Through the poll boundary: a source that throws still yields a failed poll, counted and stored below.
        var result = await guard.PollAsync(source, cancellationToken);
        span?.SetTag("roadmap.poll.outcome", result.Success ? "success" : "failure");
        if (!result.Success)
        {
            span?.SetStatus(ActivityStatusCode.Error, result.Failure);
            // The URL a poll tried says whether the target is down or the source points at the wrong place.
            if (source.Target is { } target)
            {
                LogPollFailedAt(log, id, target, result.Failure!);
            }
            else
            {
                LogPollFailed(log, id, result.Failure!);
            }
        }

        events.PollRecorded(source.Config, result, at);
        telemetry.RecordPoll(id, source.Config.Kind, result.Success, result.Duration);
        writer.TryEnqueue(new PollRecord(
            id,
            at.ToUnixTimeMilliseconds(),
            result.Duration.TotalSeconds,
            result.Success,
            result.Failure,
            ToStored(result.Samples),
            tickMs));
    }

    /// <summary>
    /// The tick this firing stands for: for an interval source the grid tick nearest to Quartz's scheduled fire time;
    /// for a cron source, or the single process's start poll, the scheduled time itself.
    /// </summary>
    private DateTimeOffset TickOf(IJobExecutionContext context, Roadmap.Core.Config.SourceConfig config)
    {
        var scheduled = context.ScheduledFireTimeUtc ?? time.GetUtcNow();
        return config.Schedule.Every is { } every && context.Trigger.Key.Group != ScheduleRegistrar.StartGroup
            ? ScheduleRegistrar.NearestTick(config.Id, every, scheduled)
            : scheduled;
    }

    /// <summary>The samples as storage takes them, in a list of the right size (no LINQ iterator per poll).</summary>
    private static List<SignalSample> ToStored(IReadOnlyList<Sample> samples)
    {
        var stored = new List<SignalSample>(samples.Count);
        for (var i = 0; i < samples.Count; i++)
        {
            stored.Add(new SignalSample(samples[i].Signal, samples[i].Value));
        }

        return stored;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poll of source {Source} failed: {Reason}")]
    private static partial void LogPollFailed(ILogger log, string source, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Poll of source {Source} ({Target}) failed: {Reason}")]
    private static partial void LogPollFailedAt(ILogger log, string source, string target, string reason);
}
