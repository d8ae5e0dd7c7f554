using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// This replica's place in the cluster: which ticks it polls, whether it evaluates, which shards it claims for whom.
/// Every poll asks <see cref="Polls"/> (a lock-free lookup); the rest runs on the claim job and the refresh loop.
/// Outside cluster mode every answer is "yes, this process does it all".
/// </summary>
/// <remarks>
/// Ownership lives in one place, the database's <c>shard_windows</c>: a window is written once, by whichever replica
/// claims it first, for the shard's home among the replicas that are alive and not leaving. A replica polls a tick
/// only inside a window the database says it owns, so two replicas can never poll one tick, whatever Quartz fires.
/// </remarks>
public sealed partial class ClusterMembership
{
    /// <summary>How far ahead of a window's start it is claimed, at least: 2 s, so the owner reads it back in time.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromSeconds(2);

    private readonly CurrentConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterMembership> _log;
    private readonly Func<IClusterStore?> _store;
    private volatile IReadOnlyList<NodeView> _nodes = [];
    private volatile IReadOnlySet<string> _leaving = new HashSet<string>();
    private volatile bool _isLeaving;
    private long _skewMs;
    private long _skewReadAt;
    private volatile bool _refreshed;

    public ClusterMembership(CurrentConfig config, string node, Func<IClusterStore?> store, TimeProvider time, ILogger<ClusterMembership> log)
    {
        _config = config;
        _time = time;
        _log = log;
        _store = store;
        Settings = config.Value.Settings.Cluster;
        Ledger = new WindowLedger(node);
    }

    /// <summary>
    /// How far ahead a claim reaches: <see cref="Lead"/> plus three claim periods (the claim triggers fire
    /// <see cref="ClusterService.ClaimTriggers"/> times a window between them), so a window is owned before it opens
    /// even when two firings in a row are late. Kept short on purpose: windows claimed for a replica that then dies
    /// are lost ticks, so the horizon bounds the takeover time after the replica is seen to be gone.
    /// </summary>
    public TimeSpan Horizon => Lead + (3 * Settings.Window / ClusterService.ClaimTriggers);

    /// <summary>The cluster settings the process started with (a reload does not change them).</summary>
    public ClusterConfig Settings { get; }

    /// <summary>Whether this process is one replica of a cluster.</summary>
    public bool Enabled => Settings.Enabled;

    /// <summary>This replica's instance id.</summary>
    public string Node => Ledger.Node;

    /// <summary>What this replica owns, as last read back.</summary>
    public WindowLedger Ledger { get; }

    /// <summary>The nodes as Quartz's cluster table lists them, at the last refresh.</summary>
    public IReadOnlyList<NodeView> Nodes => _nodes;

    /// <summary>This replica's clock minus the database's, corrected by half the round trip; 0 before the first read.</summary>
    public TimeSpan ClockSkew => TimeSpan.FromMilliseconds(Interlocked.Read(ref _skewMs));

    /// <summary>Whether the clock skew was read at all (a replica that cannot reach the database has none to report).</summary>
    public bool ClockSkewKnown => Interlocked.Read(ref _skewReadAt) != 0;

    /// <summary>Whether this replica is stopping and handing its shards over.</summary>
    public bool IsLeaving => _isLeaving;

    private long WindowMs => (long)Settings.Window.TotalMilliseconds;

    private long EvaluationMs => Math.Max(1000, (long)_config.Value.Settings.EvaluateEvery.TotalMilliseconds);

    /// <summary>Whether this replica polls the tick of <paramref name="sourceId"/> scheduled at <paramref name="scheduledMs"/> (unix ms).</summary>
    public bool Polls(string sourceId, long scheduledMs) =>
        !Enabled || Ledger.Owns(ClusterShards.Of(sourceId, Settings.Shards), ClusterShards.WindowStart(scheduledMs, WindowMs));

    /// <summary>Whether this replica owns the source's shard window that holds <paramref name="ms"/>: its per-source series are this replica's to export.</summary>
    public bool Holds(string sourceId, long ms) => Polls(sourceId, ms);

    /// <summary>Whether this replica runs the evaluation round scheduled at <paramref name="ms"/> (unix ms).</summary>
    public bool Evaluates(long ms) => !Enabled || Ledger.EvaluatorOf(ClusterShards.WindowStart(ms, EvaluationMs)) == Node;

    /// <summary>Whether this replica is the evaluator now: it exports the KPI and initiative series and sends updates.</summary>
    public bool IsEvaluatorNow() => Evaluates(_time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>The sources of the config whose shard window holding now this replica owns.</summary>
    public int SourcesHeld()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _config.Value.Sources.Count(s => Holds(s.Id, now));
    }

    /// <summary>Stops claiming for this replica: from now on every window goes to the others.</summary>
    public void StartLeaving() => _isLeaving = true;

    /// <summary>
    /// Claims every shard's windows from now to <see cref="Horizon"/> ahead, each for its home among the
    /// live replicas not leaving, and the evaluation windows for the evaluator (the current one while it lives).
    /// Windows already owned keep their owner. Called by <see cref="ClaimJob"/> on whichever replica Quartz fires it.
    /// </summary>
    /// <returns>How many windows were asked for and how many of them were new (the others already had an owner); none
    /// asked for before the first refresh or when there is nobody to claim for.</returns>
    /// <exception cref="StorageException">The database did not take the claim.</exception>
    public (int Requested, int Written) Claim()
    {
        var store = _store() ?? throw new StorageException("cluster storage is not open yet");
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // Before the first read of the node list this replica would see only itself, and claim every shard.
        var candidates = _refreshed ? Candidates(now) : [];
        if (candidates.Count == 0)
        {
            return (0, 0);
        }

        var wanted = new List<ShardWindow>();
        var window = WindowMs;
        var until = now + (long)Horizon.TotalMilliseconds;
        var first = ClusterShards.WindowStart(now, window);
        for (var shard = 0; shard < Settings.Shards; shard++)
        {
            var home = ClusterShards.Home(shard, candidates)!;
            for (var start = first; start <= until; start += window)
            {
                wanted.Add(new ShardWindow(shard, start, home));
            }
        }

        // The evaluator stays where it is while it lives: moving it would cost a gap in the KPI series for nothing.
        var every = EvaluationMs;
        var firstRound = ClusterShards.WindowStart(now, every);
        var current = Ledger.EvaluatorOf(firstRound) ?? Ledger.EvaluatorOf(firstRound - every);
        var evaluator = current is not null && candidates.Contains(current) ? current : ClusterShards.Home(IClusterStore.EvaluationShard, candidates)!;
        for (var start = firstRound; start <= until; start += every)
        {
            wanted.Add(new ShardWindow(IClusterStore.EvaluationShard, start, evaluator));
        }

        var written = store.Claim(wanted, Node, now);
        // What was just written for this replica polls at once, before the next read-back.
        Ledger.Add(written, window);
        return (wanted.Count, written.Count);
    }

    /// <summary>
    /// Reads back what this replica owns, the leaving marks and the database's clock; takes the node list Quartz
    /// reports. Called every second by <see cref="ClusterService"/>.
    /// </summary>
    /// <exception cref="StorageException">The database could not be read.</exception>
    public void Refresh(IReadOnlyCollection<ClusterNode> nodes)
    {
        var store = _store() ?? throw new StorageException("cluster storage is not open yet");
        _nodes = nodes.Select(n => new NodeView(n.InstanceId, n.State, n.LastCheckInUtc)).ToList();
        _leaving = store.Leaving();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // From two windows back: a poll that starts late still finds the window its tick belongs to.
        Ledger.Replace(store.Owned(Node, Math.Min(ClusterShards.WindowStart(now, WindowMs) - 2 * WindowMs, ClusterShards.WindowStart(now, EvaluationMs) - 2 * EvaluationMs)), WindowMs);
        var before = _time.GetUtcNow();
        var (database, roundTrip) = store.ReadClock();
        var local = before + (roundTrip / 2);
        Interlocked.Exchange(ref _skewMs, local.ToUnixTimeMilliseconds() - database);
        Interlocked.Exchange(ref _skewReadAt, now);
        _refreshed = true;
    }

    /// <summary>
    /// The replicas a window may be claimed for: alive by their check-ins and not leaving, this one included unless it
    /// is leaving. A replica that missed a check-in by more than half of <c>failoverAfter</c> gets no new window: its
    /// shards move on before Quartz declares it failed, and nothing is lost if it was only slow (the windows it still
    /// owns it polls; the next ones go elsewhere).
    /// </summary>
    public List<string> Candidates(long nowMs)
    {
        var leaving = _leaving;
        var grace = Settings.CheckinInterval + (Settings.FailoverAfter / 2);
        var candidates = new List<string>();
        foreach (var n in _nodes)
        {
            var fresh = n.LastCheckIn is not { } last || nowMs - last.ToUnixTimeMilliseconds() <= grace.TotalMilliseconds;
            if (n.State != ClusterNodeState.Failed && fresh && !leaving.Contains(n.Id) && n.Id != Node)
            {
                candidates.Add(n.Id);
            }
        }

        if (!_isLeaving && !leaving.Contains(Node))
        {
            candidates.Add(Node);
        }

        candidates.Sort(StringComparer.Ordinal);
        return candidates;
    }

    /// <summary>One node of the cluster as this replica last saw it.</summary>
    public sealed record NodeView(string Id, ClusterNodeState State, DateTimeOffset? LastCheckIn);
}
