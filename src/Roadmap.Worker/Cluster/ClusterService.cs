using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Storage;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// The replica's life in the cluster. At start (once storage is open, before Quartz starts): refuses an instance id
/// another live replica uses, creates the cluster's tables, puts the claim triggers on the clustered scheduler once,
/// and claims. While running: reads back ownership, the node list and the database's clock every second. At a
/// graceful stop: marks itself leaving, so every new window goes to the others, and keeps polling until the windows it
/// owns have ended: nothing is missed and nothing polled twice.
/// </summary>
public sealed partial class ClusterService(
    ClusterMembership membership,
    ClusterMetrics metrics,
    SnapshotSharing sharing,
    IServiceProvider services,
    TimeProvider time,
    ILogger<ClusterService> log) : IHostedLifecycleService, IDisposable
{
    /// <summary>The clustered Quartz scheduler's name (the per-source polls stay on the in-memory one).</summary>
    public const string SchedulerName = "roadmap-cluster";

    /// <summary>The clustered claim triggers: 8, phased evenly over a window, so a replica's death delays none for long.</summary>
    public const int ClaimTriggers = 8;

    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(1);

    /// <summary>Window rows are kept this long for audits, then deleted: 2 days.</summary>
    private static readonly TimeSpan WindowsKept = TimeSpan.FromDays(2);

    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private IScheduler? _scheduler;
    private long _prunedAt;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var store = Store() ?? throw new StorageException("cluster mode needs the PostgreSQL store");
        store.Prepare();
        _scheduler = services.GetRequiredKeyedService<IScheduler>(SchedulerName);
        await RefuseDuplicateIdAsync(_scheduler, cancellationToken);
        store.SetLeaving(membership.Node, null);
        await EnsureClaimTriggersAsync(_scheduler, cancellationToken);
        membership.Refresh(await _scheduler.QueryClusterNodes(cancellationToken));
        ClaimJob.Run(membership, metrics, log);
        LogJoined(log, membership.Node, membership.Settings.Shards, membership.Settings.Window.TotalSeconds);
        _loop = Task.Run(() => LoopAsync(_scheduler, _stop.Token), CancellationToken.None);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            return;
        }

        // The others stop giving this replica windows as soon as they read the mark (within a second); the windows it
        // owns by then it polls to their end, while the others claim the ones after.
        membership.StartLeaving();
        try
        {
            Store()?.SetLeaving(membership.Node, time.GetUtcNow().ToUnixTimeMilliseconds());
        }
        catch (StorageException e)
        {
            LogRefreshFailed(log, e.Message);
        }

        var window = membership.Settings.Window;
        var deadline = time.GetUtcNow() + window + window + ClusterMembership.Lead;
        while (time.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
        {
            if (membership.Ledger.LastEnd <= time.GetUtcNow().ToUnixTimeMilliseconds())
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, CancellationToken.None);
        }

        LogHandedOver(log, membership.Node);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stop.Dispose();

    private IClusterStore? Store() => services.GetRequiredService<IRoadmapStorage>().Cluster;

    private async Task LoopAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RefreshEvery, time, cancellationToken);
                membership.Refresh(await scheduler.QueryClusterNodes(cancellationToken));
                // The evaluator's round reaches the others' board and API within a second, not at their next tick.
                if (!membership.IsEvaluatorNow())
                {
                    sharing.Follow();
                }

                PruneNowAndThen();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is StorageException or SchedulerException)
            {
                LogRefreshFailed(log, e.Message);
            }
        }
    }

    private void PruneNowAndThen()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - _prunedAt < TimeSpan.FromHours(1).TotalMilliseconds)
        {
            return;
        }

        _prunedAt = now;
        Store()?.Prune(now - (long)WindowsKept.TotalMilliseconds);
    }

    /// <summary>
    /// Two live replicas with one id would each believe the other's windows their own. A check-in under this id that
    /// is recent may be this replica's own previous life (killed and restarted): it is watched for one check-in
    /// interval, and only a check-in that moves on is another live replica.
    /// </summary>
    private async Task RefuseDuplicateIdAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        var settings = membership.Settings;
        var first = (await scheduler.QueryClusterNodes(cancellationToken)).FirstOrDefault(n => n.IsCurrentNode)?.LastCheckInUtc;
        if (first is not { } seen || time.GetUtcNow() - seen > settings.CheckinInterval + settings.FailoverAfter)
        {
            return;
        }

        LogWaitingForOldSelf(log, membership.Node);
        await Task.Delay(settings.CheckinInterval + TimeSpan.FromSeconds(1), time, cancellationToken);
        var again = (await scheduler.QueryClusterNodes(cancellationToken)).FirstOrDefault(n => n.IsCurrentNode)?.LastCheckInUtc;
        if (again is { } later && later > seen)
        {
            throw new StorageException($"another live replica uses the instance id \"{membership.Node}\" (it checked in at {later:u}): give each replica its own --instance-id");
        }
    }

    /// <summary>
    /// Puts the claim job and its triggers on the clustered scheduler when they are missing or were made for another
    /// window: never replaced at every start, so a rolling restart does not rewrite (and re-fire) them.
    /// </summary>
    private async Task EnsureClaimTriggersAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        if (!await scheduler.Exists(ClaimJob.Key, cancellationToken))
        {
            try
            {
                await scheduler.AddJob(JobBuilder.Create<ClaimJob>().WithIdentity(ClaimJob.Key).StoreDurably().Build(), new AddJobOptions(), cancellationToken);
            }
            catch (ObjectAlreadyExistsException)
            {
                // Another replica starting at the same moment stored it first.
            }
        }

        var window = membership.Settings.Window;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var next = ClusterShards.WindowStart(now, (long)window.TotalMilliseconds) + (long)window.TotalMilliseconds;
        for (var i = 0; i < ClaimTriggers; i++)
        {
            var key = new TriggerKey($"claim-{i}", ClaimJob.Key.Group);
            if (await scheduler.GetTrigger(key, cancellationToken) is ISimpleTrigger existing && existing.RepeatInterval == window)
            {
                continue;
            }

            // Phased over the window and ahead of its start by the lead, so each window is claimed well before it opens.
            var start = DateTimeOffset.FromUnixTimeMilliseconds(next + (i * (long)window.TotalMilliseconds / ClaimTriggers)) - ClusterMembership.Lead;
            var trigger = TriggerBuilder.Create()
                .WithIdentity(key)
                .ForJob(ClaimJob.Key)
                .StartAt(start)
                .WithSimpleSchedule(s => s.WithInterval(window).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build();
            try
            {
                if (await scheduler.Exists(key, cancellationToken))
                {
                    await scheduler.RescheduleJob(key, trigger, cancellationToken);
                }
                else
                {
                    await scheduler.ScheduleJob(trigger, new ScheduleJobOptions(), cancellationToken);
                }
            }
            catch (ObjectAlreadyExistsException)
            {
                // Scheduled by another replica starting at the same moment.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster: replica {Node} joined ({Shards} shards, windows of {Window} s)")]
    private static partial void LogJoined(ILogger log, string node, int shards, double window);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster: replica {Node} handed its shards over")]
    private static partial void LogHandedOver(ILogger log, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: a check-in under instance id {Node} is recent; waiting one check-in interval to see whether it is this replica's previous run or another live replica")]
    private static partial void LogWaitingForOldSelf(ILogger log, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: reading the cluster's state failed: {Reason}")]
    private static partial void LogRefreshFailed(ILogger log, string reason);
}
