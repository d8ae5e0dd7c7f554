using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Core.Config;
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
    private int _pruning;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var store = Store() ?? throw new StorageException("cluster mode needs the PostgreSQL store");
        store.Prepare();
        _scheduler = services.GetRequiredKeyedService<IScheduler>(SchedulerName);
        await RefuseDuplicateIdAsync(store, cancellationToken);
        RefuseOtherShape(store);
        store.Join(membership.Node, membership.Nonce, membership.Shape);
        await EnsureClaimTriggersAsync(_scheduler, cancellationToken);
        membership.SeeQuartzNodes(await _scheduler.QueryClusterNodes(cancellationToken));
        membership.Refresh();
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
        var marked = false;
        for (var attempt = 0; attempt < 3 && !marked; attempt++)
        {
            try
            {
                Store()?.SetLeaving(membership.Node, membership.Nonce);
                marked = true;
            }
            catch (StorageException e)
            {
                LogRefreshFailed(log, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(300), time, CancellationToken.None);
            }
        }

        // The last owned window (an evaluation window too) ends, and a second more for a tick whose firing is late;
        // with the mark unwritten the others pass this replica over only once its heartbeat is old.
        var deadline = time.GetUtcNow() + HandOverAtMost(membership.Settings, TimeSpan.FromMilliseconds(membership.Shape.EvaluateMs));
        var settled = marked ? TimeSpan.Zero : membership.Grace + membership.Horizon;
        var started = time.GetUtcNow();
        while (time.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            if (membership.Ledger.LastEnd + 1000 <= now.ToUnixTimeMilliseconds() && now - started >= settled)
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

    /// <summary>The longest a graceful stop waits for its windows to end: two data windows, an evaluation window, the lead and a second.</summary>
    public static TimeSpan HandOverAtMost(ClusterConfig cluster, TimeSpan evaluateEvery) =>
        (2 * cluster.Window) + evaluateEvery + ClusterMembership.Lead + TimeSpan.FromSeconds(1);

    private async Task LoopAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RefreshEvery, time, cancellationToken);
                if (!membership.Refresh())
                {
                    LogIdTaken(log, membership.Node);
                    Environment.ExitCode = 1;
                    services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
                    return;
                }

                // The evaluator's round reaches the others' board and API within a second, not at their next tick.
                if (!membership.IsEvaluatorNow())
                {
                    sharing.Follow();
                }

                membership.SeeQuartzNodes(await scheduler.QueryClusterNodes(cancellationToken));
                PruneNowAndThen();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Whatever failed, the loop goes on: a replica that stops refreshing stops heartbeating, and the others
                // pass it over; one whose loop died while its heartbeat went on would lose its share of the ticks.
                LogRefreshFailed(log, e.Message);
            }
        }
    }

    private void PruneNowAndThen()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - _prunedAt < TimeSpan.FromHours(1).TotalMilliseconds || Interlocked.CompareExchange(ref _pruning, 1, 0) != 0)
        {
            return;
        }

        _prunedAt = now;
        // Off the refresh loop: a long delete must not hold up the heartbeat and the read-back of owned windows.
        _ = Task.Run(() =>
        {
            try
            {
                while (Store()?.Prune(now - (long)WindowsKept.TotalMilliseconds) > 0)
                {
                }
            }
            catch (StorageException e)
            {
                LogRefreshFailed(log, e.Message);
            }
            finally
            {
                Interlocked.Exchange(ref _pruning, 0);
            }
        });
    }

    /// <summary>
    /// Every replica must cut shards and windows alike: a start whose shard count, window or evaluation period differs
    /// from a live replica's is refused (change them by stopping every replica first).
    /// </summary>
    private void RefuseOtherShape(IClusterStore store)
    {
        var shape = membership.Shape;
        var grace = (long)membership.Grace.TotalMilliseconds;
        if (store.Nodes().FirstOrDefault(n => n.Node != membership.Node && n.AgeMs <= grace && !n.Leaving && n.Shape != shape) is { } other)
        {
            throw new StorageException(
                $"live replica \"{other.Node}\" runs with shards {other.Shape.Shards}, window {other.Shape.WindowMs} ms, evaluateEvery {other.Shape.EvaluateMs} ms; this one with {shape.Shards}, {shape.WindowMs} ms, {shape.EvaluateMs} ms: every replica must agree (stop them all to change these)");
        }
    }

    /// <summary>
    /// Two live replicas with one id would each believe the other's windows their own. A check-in under this id that
    /// is recent may be this replica's own previous life (killed and restarted): it is watched for one check-in
    /// interval, and only a check-in that moves on is another live replica.
    /// </summary>
    private async Task RefuseDuplicateIdAsync(IClusterStore store, CancellationToken cancellationToken)
    {
        var grace = (long)membership.Grace.TotalMilliseconds;
        if (store.Nodes().FirstOrDefault(n => n.Node == membership.Node) is not { } first || first.AgeMs > grace)
        {
            return;
        }

        LogWaitingForOldSelf(log, membership.Node);
        await Task.Delay(RefreshEvery + RefreshEvery + TimeSpan.FromMilliseconds(500), time, cancellationToken);
        if (store.Nodes().FirstOrDefault(n => n.Node == membership.Node) is { } again && (again.Heartbeat > first.Heartbeat || again.Nonce != first.Nonce))
        {
            throw new StorageException($"another live replica uses the instance id \"{membership.Node}\" (its heartbeat is {again.AgeMs} ms old): give each replica its own --instance-id");
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: a heartbeat under instance id {Node} is recent; waiting two heartbeats to see whether it is this replica's previous run or another live replica")]
    private static partial void LogWaitingForOldSelf(ILogger log, string node);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cluster: another process joined under this replica's instance id {Node}; this one stops polling and exits")]
    private static partial void LogIdTaken(ILogger log, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: reading the cluster's state failed: {Reason}")]
    private static partial void LogRefreshFailed(ILogger log, string reason);
}
