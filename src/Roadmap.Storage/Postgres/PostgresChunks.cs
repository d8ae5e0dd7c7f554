using Npgsql;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The samples of a series as stored in PostgreSQL: its chunks (a bytea each) and its hot rows in the day-partitioned
/// samples table, merged as every backend merges them (<see cref="ChunkedSamples"/>); and, as <see cref="IChunkStore"/>,
/// the compactor's statements. All SQL on the chunks table is here. Not thread-safe.
/// </summary>
/// <remarks>
/// Several processes may write one database: the compactor's steps are serialized by an advisory lock, and it takes
/// the rows it seals with <c>DELETE ... RETURNING</c>, so a sample another process inserts meanwhile either is in what
/// was deleted (and sealed) or stays hot. A second compactor building the same chunk from an older view collides on
/// the chunk's key and rolls back.
/// </remarks>
/// <param name="partitions">Where the compactor creates a day rollups partition a repaired day rollup needs (see
/// <see cref="ReplaceDayRollup"/>); null for a reader, which never writes.</param>
internal sealed class PostgresChunks(NpgsqlConnection connection, Partitions? partitions = null) : IChunkStore
{
    /// <summary>Held for a compaction step's transaction; another constant than the schema's and partitions' locks.</summary>
    private const long CompactLock = 0x526f61646d617032; // "Roadmap2"

    private static readonly string Day = ChunkedSamples.MaxRangeMs.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The chunks of series $1 whose range overlaps [$2, $3), oldest first.</summary>
    public static readonly string OverlappingSql =
        $"SELECT data FROM chunks WHERE series_id = $1 AND start_ts > $2 - {Day} AND start_ts < $3 AND end_ts > $2 ORDER BY start_ts";

    private readonly List<string> _created = [];
    private NpgsqlTransaction? _tx;

    /// <summary>Calls <paramref name="add"/> with the series' samples with from &lt;= ts &lt; to, oldest first.</summary>
    public void Read(long series, long fromMs, long toMs, Action<Point> add, NpgsqlTransaction? tx = null)
    {
        if (toMs <= fromMs)
        {
            return;
        }

        ChunkedSamples.Merge(
            Blobs(OverlappingSql, tx, series, fromMs, toMs),
            Points("SELECT ts, value FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts", tx, series, fromMs, toMs),
            fromMs,
            toMs,
            add);
    }

    public void Begin()
    {
        _tx = connection.BeginTransaction();
        using var cmd = Command(FormattableString.Invariant($"SELECT pg_advisory_xact_lock({CompactLock});"), _tx);
        cmd.ExecuteNonQuery();
    }

    public void Commit()
    {
        _tx?.Commit();
        _tx?.Dispose();
        _tx = null;
        partitions?.Committed(_created);
    }

    public void Rollback()
    {
        try
        {
            _tx?.Rollback();
        }
        catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
        {
            // The connection went with its transaction: nothing was committed.
        }
        finally
        {
            _tx?.Dispose();
            _tx = null;
            _created.Clear();
        }
    }

    public IReadOnlyList<long> SeriesIds()
    {
        var ids = new List<long>();
        using var cmd = Command("SELECT id FROM series ORDER BY id;", _tx);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            ids.Add(r.GetInt64(0));
        }

        return ids;
    }

    public long? OldestHot(long series, long fromMs)
    {
        using var cmd = Command("SELECT ts FROM samples WHERE series_id = $1 AND ts >= $2 ORDER BY ts LIMIT 1;", _tx, series, fromMs);
        return cmd.ExecuteScalar() is long ts ? ts : null;
    }

    public IReadOnlyList<(long Series, long DayStart)> PartialChunks(long beforeMs, int limit)
    {
        var found = new List<(long, long)>();
        using var cmd = Command($"SELECT series_id, start_ts FROM chunks WHERE end_ts - start_ts < {Day} AND start_ts < $1 ORDER BY start_ts LIMIT $2;", _tx, beforeMs, limit);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            found.Add((r.GetInt64(0), r.GetInt64(1)));
        }

        return found;
    }

    public long CountAtMost(long series, long fromMs, long toMs)
    {
        using var cmd = Command(
            """
            SELECT (SELECT count(*) FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3)
                + (SELECT coalesce(sum(count), 0) FROM chunks WHERE series_id = $1 AND start_ts >= $2 AND start_ts < $3);
            """,
            _tx,
            series,
            fromMs,
            toMs);
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public IReadOnlyList<byte[]> TakeChunks(long series, long fromMs, long toMs)
    {
        var taken = new List<(long Start, byte[] Data)>();
        using var cmd = Command("DELETE FROM chunks WHERE series_id = $1 AND start_ts >= $2 AND start_ts < $3 RETURNING start_ts, data;", _tx, series, fromMs, toMs);
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                taken.Add((r.GetInt64(0), r.GetFieldValue<byte[]>(1)));
            }
        }

        return taken.OrderBy(c => c.Start).Select(c => c.Data).ToList();
    }

    public IReadOnlyList<Point> TakeHot(long series, long fromMs, long toMs)
    {
        var points = Points("DELETE FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 RETURNING ts, value", _tx, series, fromMs, toMs);
        points.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return points;
    }

    public void InsertChunk(long series, long fromMs, long toMs, byte[] chunk, ChunkHeader header)
    {
        using var cmd = Command("INSERT INTO chunks (series_id, start_ts, end_ts, count, min_ts, max_ts, data) VALUES ($1, $2, $3, $4, $5, $6, $7);", _tx, series, fromMs, toMs, header.Count, header.MinTs, header.MaxTs);
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = chunk });
        cmd.ExecuteNonQuery();
    }

    public void DropHourRollups(long series, long fromMs, long toMs)
    {
        using var cmd = Command($"DELETE FROM {RollupLevel.Hour.Table} WHERE series_id = $1 AND start_ts >= $2 AND start_ts < $3;", _tx, series, fromMs, toMs);
        cmd.ExecuteNonQuery();
    }

    public long? DayRollupCount(long series, long dayStartMs)
    {
        using var cmd = Command($"SELECT count FROM {RollupLevel.Day.Table} WHERE series_id = $1 AND start_ts = $2;", _tx, series, dayStartMs);
        return cmd.ExecuteScalar() is { } count and not DBNull ? Convert.ToInt64(count, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    public void ReplaceDayRollup(long series, long dayStartMs, SeriesSummary summary, bool closedDayChanged)
    {
        if (partitions is null || _tx is null)
        {
            throw new InvalidOperationException("a day rollup is written only in a compaction step");
        }

        partitions.Ensure(connection, _tx, PartitionedTable.RollupsDay, [PartitionedTable.RollupsDay.StartOf(dayStartMs)], _created);
        using var cmd = Command(
            $"""
            INSERT INTO {RollupLevel.Day.Table} (series_id, start_ts, {PostgresRows.RollupColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            {PostgresRows.RollupOnConflict}
            """,
            _tx,
            series,
            dayStartMs,
            summary.Count);
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = summary.Sum });
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = summary.Min });
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = summary.Max });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = summary.FirstTimestampMs });
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = summary.FirstValue });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = summary.LastTimestampMs });
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = summary.LastValue });
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = summary.Increase });
        cmd.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = summary.Sketch.ToBytes() });
        cmd.ExecuteNonQuery();
        if (closedDayChanged)
        {
            using var version = Command("UPDATE series SET closed_days_version = closed_days_version + 1 WHERE id = $1;", _tx, series);
            version.ExecuteNonQuery();
        }
    }

    private List<byte[]> Blobs(string sql, NpgsqlTransaction? tx, params long[] values)
    {
        var blobs = new List<byte[]>();
        using var cmd = Command(sql, tx, values);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            blobs.Add(r.GetFieldValue<byte[]>(0));
        }

        return blobs;
    }

    private List<Point> Points(string sql, NpgsqlTransaction? tx, params long[] values)
    {
        var points = new List<Point>();
        using var cmd = Command(sql, tx, values);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            points.Add(new Point(r.GetInt64(0), r.GetDouble(1)));
        }

        return points;
    }

    private NpgsqlCommand Command(string sql, NpgsqlTransaction? tx, params long[] values)
    {
        var cmd = new NpgsqlCommand(sql, connection, tx);
        foreach (var v in values)
        {
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = v });
        }

        return cmd;
    }
}
