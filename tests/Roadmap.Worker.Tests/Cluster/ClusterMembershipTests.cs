using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Tests.Cluster;

/// <summary>Who gets which window: the claim rule over an in-memory store that keeps the first writer, as PostgreSQL's does.</summary>
public sealed class ClusterMembershipTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 1, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly MemoryStore _store = new();

    private ClusterMembership Membership(string node = "a")
    {
        var config = new ConfigLoader(SourceKinds.All).Load(
            """
            roadmap: { name: R }
            settings:
              storage: { kind: postgres, connectionString: "Host=x;Database=y;Username=z;Password=p" }
              cluster: { enabled: true, shards: 32 }
            sources:
              - { id: web, kind: http, every: 1s, url: "http://127.0.0.1:1/" }
            """,
            "r.yaml").Config!;
        return new ClusterMembership(new CurrentConfig(config), node, () => _store, _time);
    }

    private void Member(string node, long ageMs, bool leaving = false, ClusterShape? shape = null) =>
        _store.Rows[node] = new ClusterNodeRecord(node, "other", 0, ageMs, leaving, shape ?? new ClusterShape(32, 5000, 15000));

    [Fact]
    public void Claim_BeforeTheFirstRefresh_ClaimsNothing()
    {
        var membership = Membership();

        Assert.Equal((0, 0), membership.Claim());
        Assert.Empty(_store.Windows);
    }

    [Fact]
    public void Claim_FreshStaleLeavingAndOtherShapedReplicas_GivesWindowsOnlyToTheFreshOnes()
    {
        var membership = Membership();
        _store.Join("a", membership.Nonce, membership.Shape);
        Member("b", ageMs: 1000);
        Member("c", ageMs: 60_000);
        Member("d", ageMs: 500, leaving: true);
        Member("e", ageMs: 500, shape: new ClusterShape(64, 5000, 15000));
        Assert.True(membership.Refresh());

        membership.Claim();

        var owners = _store.Windows.Values.ToHashSet();
        Assert.Equal(["a", "b"], owners.Order());
        // Every shard's windows from now to the horizon, and the evaluation windows.
        Assert.All(Enumerable.Range(0, 32), s => Assert.Contains((s, ClusterShards.WindowStart(Now.ToUnixTimeMilliseconds(), 5000)), _store.Windows.Keys));
        Assert.Contains(_store.Windows, w => w.Key.Shard == IClusterStore.EvaluationShard);
        Assert.True(membership.Ledger.ShardsHeldAt(Now.ToUnixTimeMilliseconds(), 5000) > 0);
    }

    [Fact]
    public void Claim_WhileLeaving_GivesThisReplicaNothingNew()
    {
        var membership = Membership();
        _store.Join("a", membership.Nonce, membership.Shape);
        Member("b", ageMs: 0);
        membership.Refresh();
        membership.StartLeaving();

        membership.Claim();

        Assert.All(_store.Windows.Values, owner => Assert.Equal("b", owner));
    }

    [Fact]
    public void Claim_AfterTheViewWentStale_ClaimsNothing()
    {
        var membership = Membership();
        _store.Join("a", membership.Nonce, membership.Shape);
        membership.Refresh();

        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal((0, 0), membership.Claim());
    }

    [Fact]
    public void Claim_EvaluatorAlive_StaysWithIt()
    {
        var membership = Membership();
        _store.Join("a", membership.Nonce, membership.Shape);
        Member("b", ageMs: 0);
        var round = ClusterShards.WindowStart(Now.ToUnixTimeMilliseconds(), 15000);
        // Whatever the hash would pick, b holds the current round: b keeps the next ones.
        _store.Windows[(IClusterStore.EvaluationShard, round)] = "b";
        membership.Refresh();
        _time.Advance(TimeSpan.FromSeconds(13));
        membership.Refresh();

        membership.Claim();

        Assert.Equal("b", _store.Windows[(IClusterStore.EvaluationShard, round + 15000)]);
        Assert.False(membership.Evaluates(round + 15000));
    }

    [Fact]
    public void Refresh_AnotherProcessJoinedUnderTheId_IsFalseAndOwnsNothing()
    {
        var membership = Membership();
        _store.Join("a", membership.Nonce, membership.Shape);
        membership.Refresh();
        membership.Claim();
        Assert.True(membership.Ledger.ShardsHeldAt(Now.ToUnixTimeMilliseconds(), 5000) > 0);

        _store.Join("a", "someone-else", membership.Shape);

        Assert.False(membership.Refresh());
        Assert.Equal(0, membership.Ledger.ShardsHeldAt(Now.ToUnixTimeMilliseconds(), 5000));
        Assert.False(membership.Polls("web", Now.ToUnixTimeMilliseconds()));
    }

    [Theory]
    // Late on a busy machine, past the window's end: the tick is still this replica's to poll.
    [InlineData(900, false, true)]
    [InlineData(1000, false, true)]
    // Held through a pause, the shard another replica's by now: skipped.
    [InlineData(1001, false, false)]
    [InlineData(20_000, false, false)]
    // Held through a pause, but the shard still this replica's: nobody else polls the source now.
    [InlineData(20_000, true, true)]
    public void Polls_FiringLaterThanMissedAfter_OnlyWhileThisReplicaStillOwnsTheShardNow(long lateMs, bool ownsNow, bool polls)
    {
        var membership = Membership();
        var shard = ClusterShards.Of("web", 32);
        // A tick 100 ms before its window's end, in a window this replica owns.
        var window = ClusterShards.WindowStart(Now.ToUnixTimeMilliseconds(), 5000);
        var tick = window + 4900;
        var owned = new List<ShardWindow> { new(shard, window, "a") };
        if (ownsNow)
        {
            owned.Add(new ShardWindow(shard, ClusterShards.WindowStart(tick + lateMs, 5000), "a"));
        }

        membership.Ledger.Add(owned, 5000);

        Assert.Equal(polls, membership.Polls("web", tick, tick + lateMs, TimeSpan.FromSeconds(1)));
        Assert.True(membership.Polls("web", tick));
    }

    [Fact]
    public void Polls_ATickOfAWindowOwnedByAnother_IsNeverThisReplicas()
    {
        var membership = Membership();
        var window = ClusterShards.WindowStart(Now.ToUnixTimeMilliseconds(), 5000);
        membership.Ledger.Add([new ShardWindow(ClusterShards.Of("web", 32), window + 5000, "a")], 5000);

        Assert.False(membership.Polls("web", window + 100, window + 5100, TimeSpan.FromSeconds(1)));
        Assert.False(membership.Polls("web", window + 100, window + 200, TimeSpan.FromSeconds(1)));
    }

    /// <summary>The cluster tables in memory: a window's first writer keeps it.</summary>
    private sealed class MemoryStore : IClusterStore
    {
        public Dictionary<(int Shard, long Start), string> Windows { get; } = [];

        public Dictionary<string, ClusterNodeRecord> Rows { get; } = new(StringComparer.Ordinal);

        public void Prepare()
        {
        }

        public IReadOnlyList<ShardWindow> Claim(IReadOnlyList<ShardWindow> wanted, string claimedBy, long claimedAt) =>
            wanted.Where(w => Windows.TryAdd((w.Shard, w.Start), w.Node)).ToList();

        public IReadOnlyList<ShardWindow> Owned(string node, long fromStart) =>
            Windows.Where(w => w.Key.Start >= fromStart && (w.Value == node || w.Key.Shard == IClusterStore.EvaluationShard))
                .Select(w => new ShardWindow(w.Key.Shard, w.Key.Start, w.Value)).ToList();

        public void Join(string node, string nonce, ClusterShape shape) => Rows[node] = new ClusterNodeRecord(node, nonce, 0, 0, false, shape);

        public bool Heartbeat(string node, string nonce) => Rows.TryGetValue(node, out var row) && row.Nonce == nonce;

        public void SetLeaving(string node, string nonce) => Rows[node] = Rows[node] with { Leaving = true };

        public IReadOnlyList<ClusterNodeRecord> Nodes() => Rows.Values.OrderBy(r => r.Node, StringComparer.Ordinal).ToList();

        public (long DatabaseNow, long LocalMidpoint) ReadClock(Func<long> localNow) => (localNow(), localNow());

        public void SaveSnapshot(StoredSnapshot snapshot)
        {
        }

        public StoredSnapshot? LoadSnapshot(long newerThan) => null;

        public int Prune(long before) => 0;
    }
}
