namespace Roadmap.Storage;

/// <summary>
/// One shard's window of time and the replica that owns it. <see cref="Shard"/> -1 is the evaluation round's window.
/// </summary>
/// <param name="Shard">The shard (0 .. shards-1), or <see cref="IClusterStore.EvaluationShard"/>.</param>
/// <param name="Start">The window's start, unix milliseconds UTC; its length is the cluster's window (or evaluateEvery).</param>
/// <param name="Node">The instance id of the replica that owns the window.</param>
public readonly record struct ShardWindow(int Shard, long Start, string Node);

/// <summary>What every replica of one cluster must agree on, or they would cut shards and windows differently.</summary>
/// <param name="Shards">settings.cluster.shards.</param>
/// <param name="WindowMs">settings.cluster.window, milliseconds.</param>
/// <param name="EvaluateMs">settings.evaluateEvery, milliseconds (the evaluation windows).</param>
public readonly record struct ClusterShape(int Shards, long WindowMs, long EvaluateMs);

/// <summary>One replica as <c>cluster_nodes</c> records it.</summary>
/// <param name="Node">Its instance id.</param>
/// <param name="Nonce">Which start of it wrote the row.</param>
/// <param name="Heartbeat">Its last heartbeat, unix ms on the database's clock.</param>
/// <param name="AgeMs">How old that heartbeat is, on the database's clock.</param>
/// <param name="Leaving">Whether it is stopping (a graceful stop).</param>
/// <param name="Shape">The cluster's shape as it started with.</param>
public sealed record ClusterNodeRecord(string Node, string Nonce, long Heartbeat, long AgeMs, bool Leaving, ClusterShape Shape);

/// <summary>The evaluator's latest judgement as stored for the other replicas.</summary>
/// <param name="At">When the round ran, unix milliseconds UTC.</param>
/// <param name="Node">The replica that ran it.</param>
/// <param name="Body">The snapshot as the worker serialized it.</param>
public sealed record StoredSnapshot(long At, string Node, byte[] Body);

/// <summary>
/// What replicas of one cluster agree on through the database: who owns which window of which shard (each window has
/// exactly one owner, written once), which replicas are there (a heartbeat each, stamped by the database's clock) and
/// which are leaving, the evaluator's latest snapshot, and the database's clock.
/// Only the PostgreSQL backend has one (<see cref="IRoadmapStorage.Cluster"/>).
/// </summary>
/// <remarks>Every member reports a failure of the store as a <see cref="StorageException"/>.</remarks>
public interface IClusterStore
{
    /// <summary>The shard number of the evaluation round's windows.</summary>
    const int EvaluationShard = -1;

    /// <summary>Creates the cluster's tables when missing (idempotent; safe from several replicas at once).</summary>
    void Prepare();

    /// <summary>
    /// Records each of <paramref name="wanted"/> whose (shard, start) has no owner yet, with its node as owner; a
    /// window already owned keeps its owner. The first writer wins, and a window never changes owner.
    /// </summary>
    /// <param name="wanted">The windows and the owner each should get.</param>
    /// <param name="claimedBy">The replica writing the claim (it may claim for another).</param>
    /// <param name="claimedAt">Unix milliseconds UTC.</param>
    /// <returns>The windows this call wrote (those that had no owner), with their owners.</returns>
    IReadOnlyList<ShardWindow> Claim(IReadOnlyList<ShardWindow> wanted, string claimedBy, long claimedAt);

    /// <summary>The windows starting at or after <paramref name="fromStart"/> that <paramref name="node"/> owns, and every owner of evaluation windows from then.</summary>
    IReadOnlyList<ShardWindow> Owned(string node, long fromStart);

    /// <summary>
    /// Records this start of a replica: its row in <c>cluster_nodes</c> now carries <paramref name="nonce"/> (so a second
    /// process under the same id is noticed), a fresh heartbeat, no leaving mark, and the cluster's shape.
    /// </summary>
    void Join(string node, string nonce, ClusterShape shape);

    /// <summary>Stamps the replica's heartbeat with the database's clock; false when its row no longer carries <paramref name="nonce"/> (another process joined under its id).</summary>
    bool Heartbeat(string node, string nonce);

    /// <summary>Marks the replica as leaving (a graceful stop): it is given no new window.</summary>
    void SetLeaving(string node, string nonce);

    /// <summary>Every replica's row, with its heartbeat's age on the database's clock.</summary>
    IReadOnlyList<ClusterNodeRecord> Nodes();

    /// <summary>The database's clock, and this process's clock at the middle of the round trip that read it (both unix ms UTC).</summary>
    /// <param name="localNow">This process's clock, read just before and just after the query.</param>
    (long DatabaseNow, long LocalMidpoint) ReadClock(Func<long> localNow);

    /// <summary>Stores the evaluator's snapshot (replacing the previous one).</summary>
    void SaveSnapshot(StoredSnapshot snapshot);

    /// <summary>The stored snapshot when it is newer than <paramref name="newerThan"/> (unix ms); else null.</summary>
    StoredSnapshot? LoadSnapshot(long newerThan);

    /// <summary>Deletes window rows that ended before <paramref name="before"/> (unix ms); returns how many.</summary>
    int Prune(long before);
}
