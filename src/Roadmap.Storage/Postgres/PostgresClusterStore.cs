using Npgsql;
using NpgsqlTypes;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The cluster's tables beside the data: <c>shard_windows</c> (the one owner of each window of each shard, written
/// once: <c>INSERT ... ON CONFLICT DO NOTHING</c> is the fence that keeps two replicas from polling one tick),
/// <c>cluster_nodes</c> (a heartbeat per replica, stamped with the database's clock) and <c>cluster_snapshot</c>. Created by <see cref="Prepare"/> when a replica starts in
/// cluster mode, so a single-process database never has them.
/// </summary>
internal sealed class PostgresClusterStore(PostgresStorage storage) : IClusterStore
{
    /// <summary>Held while the tables are created; another constant than the migration's and the partitions' locks.</summary>
    private const long PrepareLock = 0x526f61646d617043; // "RoadmapC"

    /// <summary>A claim or a read that takes longer is a failure, not a stall of the replica's claim loop: 5 s.</summary>
    private const int CommandTimeoutSeconds = 5;

    public void Prepare() => storage.Run(c =>
    {
        using var tx = c.BeginTransaction();
        using var cmd = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_xact_lock({PrepareLock});
            CREATE TABLE IF NOT EXISTS shard_windows (
                shard        integer NOT NULL,  -- -1: the evaluation round
                window_start bigint  NOT NULL,  -- unix milliseconds UTC
                node         text    NOT NULL,  -- the owner: the replica that polls (or evaluates) in the window
                claimed_by   text    NOT NULL,  -- the replica that wrote the claim
                claimed_at   bigint  NOT NULL,
                PRIMARY KEY (shard, window_start)
            );
            CREATE INDEX IF NOT EXISTS shard_windows_by_node ON shard_windows (node, window_start);
            CREATE TABLE IF NOT EXISTS cluster_nodes (
                node        text    PRIMARY KEY,
                nonce       text    NOT NULL,  -- which start of the replica wrote the row
                heartbeat   bigint  NOT NULL,  -- unix milliseconds UTC on the database's clock
                leaving     boolean NOT NULL DEFAULT false,
                shards      integer NOT NULL,
                window_ms   bigint  NOT NULL,
                evaluate_ms bigint  NOT NULL
            );
            CREATE TABLE IF NOT EXISTS cluster_snapshot (
                id   integer PRIMARY KEY CHECK (id = 1),
                at   bigint  NOT NULL,
                node text    NOT NULL,
                body bytea   NOT NULL
            );
            """,
            c,
            tx);
        cmd.ExecuteNonQuery();
        tx.Commit();
        return 0;
    });

    public IReadOnlyList<ShardWindow> Claim(IReadOnlyList<ShardWindow> wanted, string claimedBy, long claimedAt)
    {
        if (wanted.Count == 0)
        {
            return [];
        }

        var shards = new int[wanted.Count];
        var starts = new long[wanted.Count];
        var nodes = new string[wanted.Count];
        for (var i = 0; i < wanted.Count; i++)
        {
            (shards[i], starts[i], nodes[i]) = (wanted[i].Shard, wanted[i].Start, wanted[i].Node);
        }

        return storage.Run(c =>
        {
            using var cmd = new NpgsqlCommand(
                """
                INSERT INTO shard_windows (shard, window_start, node, claimed_by, claimed_at)
                SELECT w.shard, w.window_start, w.node, @by, @at
                FROM unnest(@shards, @starts, @nodes) AS w(shard, window_start, node)
                ORDER BY w.shard, w.window_start
                ON CONFLICT (shard, window_start) DO NOTHING
                RETURNING shard, window_start, node
                """,
                c) { CommandTimeout = CommandTimeoutSeconds };
            cmd.Parameters.Add(new NpgsqlParameter<int[]>("shards", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = shards });
            cmd.Parameters.Add(new NpgsqlParameter<long[]>("starts", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = starts });
            cmd.Parameters.Add(new NpgsqlParameter<string[]>("nodes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = nodes });
            cmd.Parameters.Add(new NpgsqlParameter<string>("by", NpgsqlDbType.Text) { TypedValue = claimedBy });
            cmd.Parameters.Add(new NpgsqlParameter<long>("at", NpgsqlDbType.Bigint) { TypedValue = claimedAt });
            var written = new List<ShardWindow>();
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                written.Add(new ShardWindow(r.GetInt32(0), r.GetInt64(1), r.GetString(2)));
            }

            return (IReadOnlyList<ShardWindow>)written;
        });
    }

    public IReadOnlyList<ShardWindow> Owned(string node, long fromStart) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            """
            SELECT shard, window_start, node FROM shard_windows WHERE node = @node AND window_start >= @from
            UNION ALL
            SELECT shard, window_start, node FROM shard_windows WHERE shard = -1 AND window_start >= @from AND node <> @node
            """,
            c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<string>("node", NpgsqlDbType.Text) { TypedValue = node });
        cmd.Parameters.Add(new NpgsqlParameter<long>("from", NpgsqlDbType.Bigint) { TypedValue = fromStart });
        var owned = new List<ShardWindow>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            owned.Add(new ShardWindow(r.GetInt32(0), r.GetInt64(1), r.GetString(2)));
        }

        return (IReadOnlyList<ShardWindow>)owned;
    });

    private const string DatabaseNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

    public void Join(string node, string nonce, ClusterShape shape) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            $"""
            INSERT INTO cluster_nodes (node, nonce, heartbeat, leaving, shards, window_ms, evaluate_ms)
            VALUES (@node, @nonce, {DatabaseNow}, false, @shards, @window, @evaluate)
            ON CONFLICT (node) DO UPDATE SET nonce = excluded.nonce, heartbeat = excluded.heartbeat, leaving = false,
                shards = excluded.shards, window_ms = excluded.window_ms, evaluate_ms = excluded.evaluate_ms
            """,
            c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<string>("node", NpgsqlDbType.Text) { TypedValue = node });
        cmd.Parameters.Add(new NpgsqlParameter<string>("nonce", NpgsqlDbType.Text) { TypedValue = nonce });
        cmd.Parameters.Add(new NpgsqlParameter<int>("shards", NpgsqlDbType.Integer) { TypedValue = shape.Shards });
        cmd.Parameters.Add(new NpgsqlParameter<long>("window", NpgsqlDbType.Bigint) { TypedValue = shape.WindowMs });
        cmd.Parameters.Add(new NpgsqlParameter<long>("evaluate", NpgsqlDbType.Bigint) { TypedValue = shape.EvaluateMs });
        return cmd.ExecuteNonQuery();
    });

    public bool Heartbeat(string node, string nonce) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand($"UPDATE cluster_nodes SET heartbeat = {DatabaseNow} WHERE node = @node AND nonce = @nonce", c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<string>("node", NpgsqlDbType.Text) { TypedValue = node });
        cmd.Parameters.Add(new NpgsqlParameter<string>("nonce", NpgsqlDbType.Text) { TypedValue = nonce });
        return cmd.ExecuteNonQuery() == 1;
    });

    public void SetLeaving(string node, string nonce) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand("UPDATE cluster_nodes SET leaving = true WHERE node = @node AND nonce = @nonce", c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<string>("node", NpgsqlDbType.Text) { TypedValue = node });
        cmd.Parameters.Add(new NpgsqlParameter<string>("nonce", NpgsqlDbType.Text) { TypedValue = nonce });
        return cmd.ExecuteNonQuery();
    });

    public IReadOnlyList<ClusterNodeRecord> Nodes() => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            $"SELECT node, nonce, heartbeat, {DatabaseNow} - heartbeat, leaving, shards, window_ms, evaluate_ms FROM cluster_nodes ORDER BY node",
            c) { CommandTimeout = CommandTimeoutSeconds };
        var nodes = new List<ClusterNodeRecord>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            nodes.Add(new ClusterNodeRecord(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetBoolean(4), new ClusterShape(r.GetInt32(5), r.GetInt64(6), r.GetInt64(7))));
        }

        return (IReadOnlyList<ClusterNodeRecord>)nodes;
    });

    public (long DatabaseNow, long LocalMidpoint) ReadClock(Func<long> localNow) => storage.Run(c =>
    {
        // Timed around the query alone: the wait for a pooled connection is no part of the round trip.
        using var cmd = new NpgsqlCommand($"SELECT {DatabaseNow}", c) { CommandTimeout = CommandTimeoutSeconds };
        var before = localNow();
        var now = (long)cmd.ExecuteScalar()!;
        var after = localNow();
        return (now, before + ((after - before) / 2));
    });

    public void SaveSnapshot(StoredSnapshot snapshot) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            """
            INSERT INTO cluster_snapshot (id, at, node, body) VALUES (1, @at, @node, @body)
            ON CONFLICT (id) DO UPDATE SET at = excluded.at, node = excluded.node, body = excluded.body
            WHERE cluster_snapshot.at <= excluded.at
            """,
            c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<long>("at", NpgsqlDbType.Bigint) { TypedValue = snapshot.At });
        cmd.Parameters.Add(new NpgsqlParameter<string>("node", NpgsqlDbType.Text) { TypedValue = snapshot.Node });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]>("body", NpgsqlDbType.Bytea) { TypedValue = snapshot.Body });
        return cmd.ExecuteNonQuery();
    });

    public StoredSnapshot? LoadSnapshot(long newerThan) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT at, node, body FROM cluster_snapshot WHERE id = 1 AND at > @after", c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<long>("after", NpgsqlDbType.Bigint) { TypedValue = newerThan });
        using var r = cmd.ExecuteReader();
        return r.Read() ? new StoredSnapshot(r.GetInt64(0), r.GetString(1), (byte[])r.GetValue(2)) : null;
    });

    public int Prune(long before) => storage.Run(c =>
    {
        // In batches, each a short statement: a day of windows is millions of rows.
        using var cmd = new NpgsqlCommand("DELETE FROM shard_windows WHERE ctid = ANY (ARRAY(SELECT ctid FROM shard_windows WHERE window_start < @before LIMIT 20000))", c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.Add(new NpgsqlParameter<long>("before", NpgsqlDbType.Bigint) { TypedValue = before });
        return cmd.ExecuteNonQuery();
    });
}
