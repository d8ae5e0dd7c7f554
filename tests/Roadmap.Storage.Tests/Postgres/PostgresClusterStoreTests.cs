using Roadmap.Sources.Tests.Sql;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>
/// The cluster's tables on a real PostgreSQL: a window has one owner, written once by whoever claims it first (the
/// fence that keeps two replicas from polling one tick), read back per node; the leaving marks; the shared snapshot;
/// the database clock; the Quartz tables not mistaken for someone else's.
/// </summary>
public sealed class PostgresClusterStoreTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public void Claim_SameWindowForTwoNodes_TheFirstWinsAndKeepsIt()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();

        var first = cluster.Claim([new ShardWindow(3, 5000, "a"), new ShardWindow(4, 5000, "a")], "a", 1);
        var second = cluster.Claim([new ShardWindow(3, 5000, "b"), new ShardWindow(3, 10000, "b")], "b", 2);

        Assert.Equal([new ShardWindow(3, 5000, "a"), new ShardWindow(4, 5000, "a")], first);
        Assert.Equal([new ShardWindow(3, 10000, "b")], second);
        Assert.Equal([new ShardWindow(3, 5000, "a"), new ShardWindow(4, 5000, "a")], cluster.Owned("a", 0).OrderBy(w => w.Shard).ToList());
        Assert.Equal([new ShardWindow(3, 10000, "b")], cluster.Owned("b", 0));
    }

    [Fact]
    public async Task Claim_ManyReplicasAtOnce_EveryWindowHasExactlyOneOwner()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();
        var windows = Enumerable.Range(0, 64).SelectMany(s => new[] { 0L, 5000L }.Select(t => (Shard: s, Start: t))).ToList();

        var claims = await Task.WhenAll(Enumerable.Range(0, 6).Select(n => Task.Run(() =>
            cluster.Claim(windows.Select(w => new ShardWindow(w.Shard, w.Start, $"n{n}")).ToList(), $"n{n}", n))));

        var written = claims.SelectMany(c => c).ToList();
        Assert.Equal(windows.Count, written.Count);
        Assert.Equal(windows.Count, written.Select(w => (w.Shard, w.Start)).Distinct().Count());
        Assert.Equal(windows.Count, backend.Count("shard_windows"));
    }

    [Fact]
    public void Owned_EvaluationWindows_AreListedWhoeverOwnsThem()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();
        cluster.Claim([new ShardWindow(IClusterStore.EvaluationShard, 15000, "b"), new ShardWindow(1, 15000, "b")], "b", 1);

        Assert.Equal([new ShardWindow(IClusterStore.EvaluationShard, 15000, "b")], cluster.Owned("a", 0));
        Assert.Empty(cluster.Owned("a", 15001));
    }

    [Fact]
    public void Join_ThenHeartbeatAndLeave_IsWhatNodesLists()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();
        var shape = new ClusterShape(128, 5000, 15000);

        cluster.Join("a", "n1", shape);
        cluster.Join("b", "n2", shape with { Shards = 64 });
        Assert.True(cluster.Heartbeat("a", "n1"));
        cluster.SetLeaving("b", "n2");

        var nodes = cluster.Nodes();
        Assert.Equal(["a", "b"], nodes.Select(n => n.Node));
        Assert.Equal((false, shape), (nodes[0].Leaving, nodes[0].Shape));
        Assert.Equal((true, 64), (nodes[1].Leaving, nodes[1].Shape.Shards));
        Assert.InRange(nodes[0].AgeMs, 0, 5000);
    }

    [Fact]
    public void Heartbeat_AfterAnotherProcessJoinedUnderTheId_IsFalseAndLeavesItsRowAlone()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();
        var shape = new ClusterShape(128, 5000, 15000);
        cluster.Join("a", "first", shape);

        cluster.Join("a", "second", shape);

        Assert.False(cluster.Heartbeat("a", "first"));
        cluster.SetLeaving("a", "first");
        Assert.Equal(("second", false), (cluster.Nodes()[0].Nonce, cluster.Nodes()[0].Leaving));
        Assert.True(cluster.Heartbeat("a", "second"));
    }

    [Fact]
    public void SaveSnapshot_NewerReplacesOlder_AndAnOlderOneNeverOverwrites()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();

        cluster.SaveSnapshot(new StoredSnapshot(2000, "a", [1, 2]));
        cluster.SaveSnapshot(new StoredSnapshot(1000, "b", [9]));

        var stored = cluster.LoadSnapshot(0)!;
        Assert.Equal((2000L, "a"), (stored.At, stored.Node));
        Assert.Equal([1, 2], stored.Body);
        Assert.Null(cluster.LoadSnapshot(2000));
    }

    [Fact]
    public void ReadClock_LocalServer_AgreesWithThisClockWithinASecond()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;

        var (database, local) = cluster.ReadClock(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        Assert.InRange(database - local, -1000, 1000);
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - local, 0, 5000);
    }

    [Fact]
    public void Prune_OldWindows_AreDeletedAndNewOnesKept()
    {
        using var backend = new PostgresTestBackend(server);
        var cluster = backend.Open().Cluster!;
        cluster.Prepare();
        cluster.Claim([new ShardWindow(1, 1000, "a"), new ShardWindow(1, 9000, "a")], "a", 1);

        Assert.Equal(1, cluster.Prune(5000));
        Assert.Equal([new ShardWindow(1, 9000, "a")], cluster.Owned("a", 0));
    }

    [Fact]
    public void Open_DatabaseHoldingOnlyQuartzTables_IsTakenAsEmpty()
    {
        // Another replica's Quartz scheduler may create its qrtz_* tables before this replica migrates.
        using var backend = new PostgresTestBackend(server);
        backend.Execute("CREATE TABLE qrtz_locks (sched_name text, lock_name text)");

        backend.Open();

        Assert.Equal(0, backend.Count("samples"));
    }

    [Fact]
    public void ClusterJobStore_QuartzConnections_EndAFrozenTransactionAfterTwoSeconds()
    {
        using var backend = new PostgresTestBackend(server);
        backend.Open();
        var (provider, connectionString) = StorageBackends.ClusterJobStore(backend.Options());

        using var connection = provider.CreateConnection()!;
        connection.ConnectionString = connectionString;
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT current_setting('idle_in_transaction_session_timeout') || ' ' || current_setting('application_name')";

        Assert.Equal("2s roadmap-quartz", command.ExecuteScalar());
    }
}
