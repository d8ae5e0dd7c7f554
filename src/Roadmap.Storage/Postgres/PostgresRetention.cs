using Npgsql;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// Retention on PostgreSQL: whole partitions are dropped once all of their range is older than the retention period
/// (raw samples and polls after <see cref="StorageOptions.RawRetention"/>, hour and day rollups after
/// <see cref="StorageOptions.RollupRetention"/>), never rows deleted: a drop is instant, leaves nothing to vacuum and
/// never competes with ingest for the table. Data is therefore kept up to one partition longer than the period (a day
/// for raw data, a month for rollups). Chunks (compact history) are deleted whole once all of their range is older
/// than raw retention, first in each sweep, at most <see cref="ChunksPerStep"/> per step; a day chunk's hour rollups
/// were dropped when the day was sealed, so they are derived back from its samples (and the day's hot rows, before
/// their partition is dropped) in the step that deletes it, and windows keep hour precision at their edges once the
/// raw samples are gone. Evaluations are kept, as on SQLite. Each sweep also creates the partitions due ahead. Each
/// <see cref="Step"/> is one short transaction dropping one partition or deleting a batch of chunks.
/// </summary>
internal sealed class PostgresRetention(Partitions partitions, StorageOptions options, TimeProvider time)
{
    /// <summary>Chunks deleted per step: a day chunk holds up to <see cref="ChunkCodec.MaxSamples"/> samples, all
    /// decoded and summarized into hours in the step's transaction.</summary>
    private const int ChunksPerStep = 64;

    private const long DayMs = ChunkedSamples.MaxRangeMs;

    /// <summary>Partitions to drop.</summary>
    private readonly Queue<(string Name, PartitionedTable Table)> _work = new();
    private bool _chunksDue;
    private long? _nextSweep;

    /// <summary>Whether a step is due: a sweep is under way, or the pause after the last one has passed.</summary>
    public bool Due => _work.Count > 0 || _chunksDue || _nextSweep is not { } next || time.GetUtcNow().ToUnixTimeMilliseconds() >= next;

    /// <summary>Rows removed so far: counted for a partition the server has no statistics of, else its estimate.</summary>
    public long RowsDeleted { get; private set; }

    /// <summary>Partitions dropped so far.</summary>
    public long PartitionsDropped { get; private set; }

    /// <summary>
    /// One step: at the start of a sweep, creates the partitions due ahead and lists those past retention; then drops
    /// one of them. Returns the rows it removed; 0 when the sweep is done (or nothing is due).
    /// </summary>
    public int Step(NpgsqlConnection c)
    {
        if (!Due)
        {
            return 0;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_work.Count == 0 && !_chunksDue)
        {
            Plan(c, now);
        }

        if (_chunksDue)
        {
            // The chunks before the day partitions: a day's hot rows (late samples) go into its derived hours.
            // A failed step leaves them to the next sweep (not retried at every call), the partitions going on.
            _chunksDue = false;
            var chunks = DeleteChunks(c, now);
            _chunksDue = chunks == ChunksPerStep;
            if (chunks > 0)
            {
                RowsDeleted += chunks;
                return chunks;
            }
        }

        if (!_work.TryDequeue(out var item))
        {
            _nextSweep = now + (long)options.PruneInterval.TotalMilliseconds;
            return 0;
        }

        using var tx = c.BeginTransaction();
        long rows;
        using (var count = new NpgsqlCommand("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1);", c, tx))
        {
            count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = item.Name });
            rows = count.ExecuteScalar() is long estimate ? estimate : 0;
        }

        if (rows < 0)
        {
            // Never analysed (a young or small partition): count it.
            using var exact = new NpgsqlCommand($"SELECT count(*) FROM {item.Name};", c, tx);
            rows = exact.ExecuteScalar() is long n ? n : 0;
        }

        using (var drop = new NpgsqlCommand($"DROP TABLE IF EXISTS {item.Name};", c, tx))
        {
            drop.ExecuteNonQuery();
        }

        if (item.Table == PartitionedTable.RollupsDay)
        {
            // Day rollups went: what readers keep merged of closed days (ClosedDaysCache) is stale for every series.
            using var changed = new NpgsqlCommand("UPDATE series SET closed_days_version = closed_days_version + 1;", c, tx);
            changed.ExecuteNonQuery();
        }

        tx.Commit();
        partitions.Dropped(item.Name);
        RowsDeleted += rows;
        PartitionsDropped++;
        if (_work.Count == 0)
        {
            _nextSweep = now + (long)options.PruneInterval.TotalMilliseconds;
        }

        return (int)Math.Min(rows, int.MaxValue);
    }

    private void Plan(NpgsqlConnection c, long now)
    {
        var created = new List<string>();
        using (var tx = c.BeginTransaction())
        {
            partitions.EnsureAhead(c, tx, now, created);
            tx.Commit();
        }

        partitions.Committed(created);
        var rawCut = now - (long)options.RawRetention.TotalMilliseconds;
        var rollupCut = now - (long)options.RollupRetention.TotalMilliseconds;
        foreach (var table in PartitionedTable.All)
        {
            if (table == PartitionedTable.Evaluations)
            {
                continue;
            }

            var cut = table.Daily ? rawCut : rollupCut;
            foreach (var (name, _, to) in Partitions.List(c, null, table))
            {
                if (to <= cut)
                {
                    _work.Enqueue((name, table));
                }
            }
        }

        _chunksDue = true;
    }

    /// <summary>
    /// One transaction: deletes up to <see cref="ChunksPerStep"/> chunks whose range lies before the raw cut, and for
    /// each day chunk first replaces its day's hour rollups by hours derived from its samples merged with the day's hot
    /// rows (the hours past rollup retention, or whose month partition is gone, are not written). Returns the chunks
    /// deleted.
    /// </summary>
    private int DeleteChunks(NpgsqlConnection c, long now)
    {
        var rawCut = now - (long)options.RawRetention.TotalMilliseconds;
        var rollupCut = now - (long)options.RollupRetention.TotalMilliseconds;
        using var tx = c.BeginTransaction();
        var series = new List<long>();
        var starts = new List<long>();
        var days = new List<(long Series, long Day, byte[] Data)>();
        using (var select = new NpgsqlCommand(
            FormattableString.Invariant($"""
            SELECT series_id, start_ts, CASE WHEN end_ts - start_ts = {DayMs} THEN data END FROM chunks
            WHERE start_ts < $1 AND end_ts <= $1 LIMIT {ChunksPerStep} FOR UPDATE;
            """),
            c,
            tx))
        {
            select.Parameters.Add(new NpgsqlParameter<long> { TypedValue = rawCut });
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                series.Add(r.GetInt64(0));
                starts.Add(r.GetInt64(1));
                if (!r.IsDBNull(2))
                {
                    days.Add((r.GetInt64(0), r.GetInt64(1), r.GetFieldValue<byte[]>(2)));
                }
            }
        }

        if (series.Count == 0)
        {
            return 0;
        }

        if (days.Count > 0)
        {
            DeriveHours(c, tx, days, rollupCut);
        }

        using (var delete = new NpgsqlCommand("DELETE FROM chunks c USING unnest($1::bigint[], $2::bigint[]) AS d(id, start) WHERE c.series_id = d.id AND c.start_ts = d.start;", c, tx))
        {
            delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = series.ToArray() });
            delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = starts.ToArray() });
            delete.ExecuteNonQuery();
        }

        tx.Commit();
        return series.Count;
    }

    /// <summary>Replaces the hour rollups of the sealed days by hours derived from their chunk and hot rows.</summary>
    private static void DeriveHours(NpgsqlConnection c, NpgsqlTransaction tx, List<(long Series, long Day, byte[] Data)> days, long rollupCut)
    {
        var ids = days.Select(d => d.Series).ToArray();
        var starts = days.Select(d => d.Day).ToArray();
        var hot = new Dictionary<(long, long), List<Point>>();
        using (var select = new NpgsqlCommand(
            FormattableString.Invariant($"""
            SELECT d.id, d.day, s.ts, s.value FROM unnest($1::bigint[], $2::bigint[]) AS d(id, day)
            JOIN samples s ON s.series_id = d.id AND s.ts >= d.day AND s.ts < d.day + {DayMs} ORDER BY d.id, d.day, s.ts;
            """),
            c,
            tx))
        {
            select.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
            select.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = starts });
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                var key = (r.GetInt64(0), r.GetInt64(1));
                if (!hot.TryGetValue(key, out var points))
                {
                    hot[key] = points = [];
                }

                points.Add(new Point(r.GetInt64(2), r.GetDouble(3)));
            }
        }

        // Only into the hour partitions that exist: one dropped by rollup retention is not created again.
        var months = Partitions.List(c, tx, PartitionedTable.RollupsHour);
        var rows = new List<RollupRow>();
        foreach (var (id, day, data) in days)
        {
            var points = ChunkedSamples.MergeToList([data], hot.GetValueOrDefault((id, day)) ?? [], day, day + DayMs);
            rows.AddRange(Hours(id, points).Where(h => h.StartMs >= rollupCut && months.Any(m => m.From <= h.StartMs && h.StartMs < m.To)));
        }

        using (var delete = new NpgsqlCommand(
            FormattableString.Invariant($"DELETE FROM rollups_hour h USING unnest($1::bigint[], $2::bigint[]) AS d(id, day) WHERE h.series_id = d.id AND h.start_ts >= d.day AND h.start_ts < d.day + {DayMs};"),
            c,
            tx))
        {
            delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
            delete.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = starts });
            delete.ExecuteNonQuery();
        }

        if (rows.Count == 0)
        {
            return;
        }

        // The days' rows were all deleted just above: the derived ones go in by COPY, no row to replace.
        using var importer = c.BeginBinaryImport($"COPY rollups_hour (series_id, start_ts, {PostgresRows.RollupColumns}) FROM STDIN (FORMAT BINARY)");
        foreach (var (id, start, s) in rows)
        {
            PostgresRows.WriteRollup(importer, id, start, s.Count, s.Sum, s.Min, s.Max, s.FirstTimestampMs, s.FirstValue, s.LastTimestampMs, s.LastValue, s.Increase, s.Sketch.ToBytes());
        }

        importer.Complete();
    }

    /// <summary>
    /// The hour rollups of one series' points (oldest first), each hour summarized from its points as the writer's
    /// recompute does (<see cref="SeriesSummary.FromPoints"/>), so a derived hour equals the row the writer stored.
    /// </summary>
    private static IEnumerable<RollupRow> Hours(long series, List<Point> points)
    {
        var i = 0;
        while (i < points.Count)
        {
            var hour = RollupLevel.Hour.StartOf(points[i].TimestampMs);
            var first = i;
            while (i < points.Count && points[i].TimestampMs - hour < RollupLevel.Hour.SizeMs)
            {
                i++;
            }

            yield return new RollupRow(series, hour, SeriesSummary.FromPoints(points.GetRange(first, i - first)));
        }
    }
}
