namespace Roadmap.Storage;

/// <summary>
/// One shard's window of time and the replica that owns it. <see cref="Shard"/> -1 is the evaluation round's window.
/// </summary>
/// <param name="Shard">The shard (0 .. shards-1), or <see cref="IClusterStore.EvaluationShard"/>.</param>
/// <param name="Start">The window's start, unix milliseconds UTC; its length is the cluster's window (or evaluateEvery).</param>
/// <param name="Node">The instance id of the replica that owns the window.</param>
public readonly record struct ShardWindow(int Shard, long Start, string Node);

/// <summary>The evaluator's latest judgement as stored for the other replicas.</summary>
/// <param name="At">When the round ran, unix milliseconds UTC.</param>
/// <param name="Node">The replica that ran it.</param>
/// <param name="Body">The snapshot as the worker serialized it.</param>
public sealed record StoredSnapshot(long At, string Node, byte[] Body);

/// <summary>
/// What replicas of one cluster agree on through the database: who owns which window of which shard (each window has
/// exactly one owner, written once), who is leaving, the evaluator's latest snapshot, and the database's clock.
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

    /// <summary>Marks a replica as leaving (a graceful stop): it is given no new window. <paramref name="at"/> null clears the mark (a start).</summary>
    void SetLeaving(string node, long? at);

    /// <summary>The replicas marked as leaving.</summary>
    IReadOnlySet<string> Leaving();

    /// <summary>The database's clock, unix milliseconds UTC, and how long the round trip that read it took.</summary>
    (long DatabaseNow, TimeSpan RoundTrip) ReadClock();

    /// <summary>Stores the evaluator's snapshot (replacing the previous one).</summary>
    void SaveSnapshot(StoredSnapshot snapshot);

    /// <summary>The stored snapshot when it is newer than <paramref name="newerThan"/> (unix ms); else null.</summary>
    StoredSnapshot? LoadSnapshot(long newerThan);

    /// <summary>Deletes window rows that ended before <paramref name="before"/> (unix ms); returns how many.</summary>
    int Prune(long before);
}
