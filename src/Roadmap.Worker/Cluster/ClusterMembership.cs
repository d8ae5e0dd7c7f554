using Quartz;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// This replica's place in the cluster: which ticks it polls, whether it evaluates, which shards it claims for whom.
/// Every poll asks <see cref="Polls(string, long)"/> (a lock-free lookup); the rest runs on the claim job and the refresh loop.
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
    private readonly Func<IClusterStore?> _store;
    private volatile IReadOnlyList<NodeView> _nodes = [];
    private volatile IReadOnlyList<ClusterNodeRecord> _members = [];
    private volatile bool _isLeaving;
    private long _skewMs;
    private long _skewReadAt;
    private long _refreshedAt = long.MinValue;

    public ClusterMembership(CurrentConfig config, string node, Func<IClusterStore?> store, TimeProvider time)
    {
        _config = config;
        _time = time;
        _store = store;
        Settings = config.Value.Settings.Cluster;
        EvaluationMs = Math.Max(1000, (long)config.Value.Settings.EvaluateEvery.TotalMilliseconds);
        Ledger = new WindowLedger(node, EvaluationMs);
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

    /// <summary>Which start of this replica this is: its row in <c>cluster_nodes</c> carries it, so a second process under the same id is noticed.</summary>
    public string Nonce { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The shape every replica must share (shards, window, evaluation period).</summary>
    public ClusterShape Shape => new(Settings.Shards, WindowMs, EvaluationMs);

    /// <summary>
    /// A replica whose heartbeat (or whose own last refresh) is older than this gets no new window: the check-in
    /// interval plus half of <c>failoverAfter</c>.
    /// </summary>
    public TimeSpan Grace => Settings.CheckinInterval + (Settings.FailoverAfter / 2);

    /// <summary>Whether this replica's view of the cluster is recent enough to claim on: refreshed within 1.5 s.</summary>
    public bool ViewIsFresh => _time.GetTimestamp() is var now && Interlocked.Read(ref _refreshedAt) is var at && at != long.MinValue
        && _time.GetElapsedTime(at, now) <= TimeSpan.FromMilliseconds(1500);

    private long WindowMs => (long)Settings.Window.TotalMilliseconds;

    // Fixed at start: every replica must cut the evaluation windows alike (a reload does not change it in a cluster).
    private long EvaluationMs { get; }

    /// <summary>
    /// Whether this replica polls the tick of <paramref name="sourceId"/> scheduled at <paramref name="scheduledMs"/>
    /// (unix ms): it owns the source's shard window that holds that moment, so the source's per-source series are
    /// this replica's to export then too.
    /// </summary>
    public bool Polls(string sourceId, long scheduledMs) =>
        !Enabled || Ledger.Owns(ClusterShards.Of(sourceId, Settings.Shards), ClusterShards.WindowStart(scheduledMs, WindowMs));

    /// <summary>
    /// Whether this replica polls, at <paramref name="nowMs"/>, the tick scheduled at <paramref name="scheduledMs"/>:
    /// it owns the tick's window (<see cref="Polls(string, long)"/>) and, when the firing comes more than
    /// <paramref name="missedAfter"/> after the tick, also the window holding now. A firing that late is one Quartz held
    /// while the process was paused (SIGSTOP, a long GC, a suspended VM); by now another replica may have taken the
    /// shard over and poll the source at this very moment. A firing merely late on a busy machine, even across a window's
    /// end, still polls: its tick is nobody else's.
    /// </summary>
    public bool Polls(string sourceId, long scheduledMs, long nowMs, TimeSpan missedAfter)
    {
        if (!Enabled)
        {
            return true;
        }

        var shard = ClusterShards.Of(sourceId, Settings.Shards);
        return Ledger.Owns(shard, ClusterShards.WindowStart(scheduledMs, WindowMs))
            && (nowMs - scheduledMs <= (long)missedAfter.TotalMilliseconds || Ledger.Owns(shard, ClusterShards.WindowStart(nowMs, WindowMs)));
    }

    /// <summary>Whether this replica runs the evaluation round scheduled at <paramref name="ms"/> (unix ms).</summary>
    public bool Evaluates(long ms) => !Enabled || Ledger.EvaluatorOf(ClusterShards.WindowStart(ms, EvaluationMs)) == Node;

    /// <summary>Whether this replica is the evaluator now: it exports the KPI and initiative series and sends updates.</summary>
    public bool IsEvaluatorNow() => Evaluates(_time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>The sources of the config whose shard window holding now this replica owns.</summary>
    public int SourcesHeld()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return _config.Value.Sources.Count(s => Polls(s.Id, now));
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
        // On a stale view (before the first refresh, after a pause or a database outage) every other replica would look
        // gone, and this one would take every shard: no claim until the view is fresh again.
        var candidates = ViewIsFresh ? Candidates() : [];
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
    /// Stamps this replica's heartbeat, reads the replicas' rows, what this replica owns and the database's clock. Called
    /// every second by <see cref="ClusterService"/>.
    /// </summary>
    /// <returns>False when this replica's row carries another start's nonce: another process took its instance id.</returns>
    /// <exception cref="StorageException">The database could not be read.</exception>
    public bool Refresh()
    {
        var store = _store() ?? throw new StorageException("cluster storage is not open yet");
        if (!store.Heartbeat(Node, Nonce))
        {
            // Another process joined under this id: nothing this replica believes it owns is its own any more.
            Ledger.Replace([], WindowMs, Ledger.Version);
            return false;
        }

        _members = store.Nodes();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var version = Ledger.Version;
        // From two windows back: a poll that starts late still finds the window its tick belongs to.
        Ledger.Replace(store.Owned(Node, Math.Min(ClusterShards.WindowStart(now, WindowMs) - 2 * WindowMs, ClusterShards.WindowStart(now, EvaluationMs) - 2 * EvaluationMs)), WindowMs, version);
        var (database, local) = store.ReadClock(() => _time.GetUtcNow().ToUnixTimeMilliseconds());
        Interlocked.Exchange(ref _skewMs, local - database);
        Interlocked.Exchange(ref _skewReadAt, now);
        Interlocked.Exchange(ref _refreshedAt, _time.GetTimestamp());
        return true;
    }

    /// <summary>Takes the node list Quartz's cluster table gives (for the metrics, and to pass over nodes Quartz has failed).</summary>
    public void SeeQuartzNodes(IReadOnlyCollection<ClusterNode> nodes) =>
        _nodes = nodes.Select(n => new NodeView(n.InstanceId, n.State, n.LastCheckInUtc)).ToList();

    /// <summary>
    /// The replicas a window may be claimed for: those whose heartbeat (stamped each second by the database's clock) is
    /// within <see cref="Grace"/>, that are not leaving, that started with this cluster's shape and that Quartz has not
    /// failed; this one included unless it is leaving or its clock is more than a second off the database's. A replica
    /// that went quiet gets no new window well before Quartz declares it failed, and nothing is lost if it was only
    /// slow: the windows it owns it polls, the next ones go elsewhere.
    /// </summary>
    public List<string> Candidates()
    {
        var failed = _nodes.Where(n => n.State == ClusterNodeState.Failed).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var grace = (long)Grace.TotalMilliseconds;
        var shape = Shape;
        var candidates = new List<string>();
        foreach (var m in _members)
        {
            if (m.Node != Node && m.AgeMs <= grace && !m.Leaving && m.Shape == shape && !failed.Contains(m.Node))
            {
                candidates.Add(m.Node);
            }
        }

        if (!_isLeaving && !(ClockSkewKnown && ClockSkew.Duration() > TimeSpan.FromSeconds(1)))
        {
            candidates.Add(Node);
        }

        candidates.Sort(StringComparer.Ordinal);
        return candidates;
    }

    /// <summary>One node of the cluster as this replica last saw it.</summary>
    public sealed record NodeView(string Id, ClusterNodeState State, DateTimeOffset? LastCheckIn);
}
