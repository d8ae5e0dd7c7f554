using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Events;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Updates;

/// <summary>
/// Sends the scheduled updates (<c>settings.updates</c>) on their own task, so a slow or failing receiver never holds
/// up polling or evaluation. The rule that makes a restart neither repeat nor skip one, kept in the database
/// (<see cref="IUpdateStore"/>):
/// <list type="bullet">
/// <item>An update's fires count from when it first appears in the config in force (a <c>scheduled</c> row).</item>
/// <item>At each check, the latest fire at or before now that is later than the last fire handled is due; the fires
/// missed before it (the service was down) are not sent one by one: that update is sent once, covering everything
/// since the previous update that went out.</item>
/// <item>A fire is handled once it was sent or given up after <see cref="UpdateSendOptions.Attempts"/> attempts; a fire
/// cut short by a stop is not recorded, so it is sent after the restart.</item>
/// <item>Nothing is sent before the first evaluation round of this process: the table would say "not evaluated yet".</item>
/// </list>
/// </summary>
public sealed partial class UpdateScheduler(
    CurrentConfig current,
    EvaluationService evaluation,
    IUpdateStore store,
    UpdateSender sender,
    IRoadmapEvents events,
    ClusterMembership membership,
    TimeProvider time,
    ILogger<UpdateScheduler> log) : BackgroundService
{
    /// <summary>The longest sleep between checks: a reload's new updates are picked up within it. 30 s.</summary>
    public static readonly TimeSpan MaxSleep = TimeSpan.FromSeconds(30);

    /// <summary>How often a replica that is not the evaluator looks again whether it has become it: 5 s.</summary>
    private static readonly TimeSpan ClusterCheck = TimeSpan.FromSeconds(5);

    /// <summary>How far back a due fire is looked for after downtime: 400 days (a fire older than that is not sent).</summary>
    public static readonly TimeSpan LookBack = TimeSpan.FromDays(400);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan sleep;
            try
            {
                sleep = await RunDueAsync(stoppingToken);
            }
            catch (StorageException e)
            {
                // The database is failing (the writer says so too): the fire stays due and is tried at the next check.
                LogStorageFailed(log, e.Message);
                sleep = MaxSleep;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A bug of ours must not end this task, and with it the host (a background service's exception stops
                // it): the updates are tried again at the next check; polling and evaluation go on regardless.
                LogFailed(log, e);
                sleep = MaxSleep;
            }

            await Task.Delay(sleep, time, stoppingToken);
        }
    }

    /// <summary>Sends every update that is due now; returns how long until the next fire (at most <see cref="MaxSleep"/>).</summary>
    public async Task<TimeSpan> RunDueAsync(CancellationToken cancellationToken)
    {
        var config = current.Value;
        var zone = config.Settings.TimeZone;
        var sleep = MaxSleep;
        if (!membership.IsEvaluatorNow())
        {
            // In a cluster the evaluator sends the updates (the record of what went out is shared): one message per fire.
            return ClusterCheck;
        }

        foreach (var update in config.Settings.Updates.Items)
        {
            var now = time.GetUtcNow();
            var cron = new Quartz.CronExpression(update.Cron, zone);
            if (store.Last(update.Name) is not { } last)
            {
                store.Record(update.Name, now, now, IUpdateStore.Scheduled, 0);
                var first = cron.GetNextValidTimeAfter(now) is { } f ? ReportText.Instant(f) : "never";
                LogScheduled(log, update.Name, update.Destination, first);
            }
            else if (DueFire(cron, DateTimeOffset.FromUnixTimeMilliseconds(last.FireTs), now) is { } fire && evaluation.Latest.At != DateTimeOffset.MinValue)
            {
                await DeliverAsync(config, update, fire, cancellationToken);
            }

            if (cron.GetNextValidTimeAfter(time.GetUtcNow()) is { } next && next - time.GetUtcNow() < sleep)
            {
                sleep = next - time.GetUtcNow();
            }
        }

        return sleep < TimeSpan.Zero ? TimeSpan.Zero : sleep;
    }

    /// <summary>The latest fire of <paramref name="cron"/> after <paramref name="handled"/> and at or before <paramref name="now"/>; null when none.</summary>
    public static DateTimeOffset? DueFire(Quartz.CronExpression cron, DateTimeOffset handled, DateTimeOffset now)
    {
        // Looked for in growing spans before now, so that a cron firing every second after long downtime walks one
        // minute of fires, not a year of them.
        foreach (var span in SearchSpans)
        {
            var from = now - span > handled ? now - span : handled;
            DateTimeOffset? due = null;
            for (var next = cron.GetNextValidTimeAfter(from); next is { } n && n <= now; next = cron.GetNextValidTimeAfter(n))
            {
                due = n;
            }

            if (due is not null || from == handled)
            {
                return due;
            }
        }

        return null;
    }

    private static readonly TimeSpan[] SearchSpans = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(32), LookBack];

    private async Task DeliverAsync(RoadmapConfig config, UpdateConfig update, DateTimeOffset fire, CancellationToken cancellationToken)
    {
        var snapshot = evaluation.Latest;
        var view = RoadmapViewBuilder.Build(config, snapshot);
        // Since what its recipients last heard: the previous update that went out, or when it was first scheduled.
        var told = store.LastTold(update.Name);
        var since = told is null ? fire : DateTimeOffset.FromUnixTimeMilliseconds(told.EndedTs);
        var changes = WhatChanged.Between(view, snapshot.At, since, store.StatusesAt(since), told?.Outcome == IUpdateStore.Success ? told.Blocked : null, config.Settings.TimeZone);
        var body = UpdatePayloads.Render(update.Format, changes, view);
        var result = await sender.SendAsync(update, body, cancellationToken);
        var blocked = view.Initiatives.Where(i => i.Blocked).Select(i => i.Id).ToList();
        store.Record(update.Name, fire, time.GetUtcNow(), result.Success ? IUpdateStore.Success : IUpdateStore.Failure, result.Attempts, blocked);
        events.UpdateDelivered(update.Name, result.Success);
        var at = ReportText.Instant(fire);
        if (result.Success)
        {
            LogSent(log, update.Name, update.Destination, at, result.Attempts);
        }
        else
        {
            LogGivenUp(log, update.Name, update.Destination, at, result.Attempts, result.Reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Update {Name} ({Destination}) scheduled; its first fire is {Next}")]
    private static partial void LogScheduled(ILogger log, string name, string destination, string next);

    [LoggerMessage(Level = LogLevel.Information, Message = "Update {Name} sent to {Destination} for its fire at {Fire} ({Attempts} attempt(s))")]
    private static partial void LogSent(ILogger log, string name, string destination, string fire, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Update {Name} to {Destination} for its fire at {Fire} failed after {Attempts} attempt(s), given up until its next fire: {Reason}")]
    private static partial void LogGivenUp(ILogger log, string name, string destination, string fire, int attempts, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Updates not checked (tried again shortly): internal error")]
    private static partial void LogFailed(ILogger log, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Updates not checked (tried again shortly): the database failed: {Reason}")]
    private static partial void LogStorageFailed(ILogger log, string reason);
}
