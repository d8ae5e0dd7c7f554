using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// Retention on PostgreSQL: whole partitions are dropped once all of their range is older than the retention period
/// (raw samples and polls after <see cref="StorageOptions.RawRetention"/>, hour and day rollups after
/// <see cref="StorageOptions.RollupRetention"/>), never rows deleted: a drop is instant, leaves nothing to vacuum and
/// never competes with ingest for the table. Data is therefore kept up to one partition longer than the period (a day
/// for raw data, a month for rollups). Chunks (compact history) are deleted whole once all of their range is older
/// than raw retention, in one statement per sweep. Evaluations are kept, as on SQLite. Each sweep also creates the partitions due
/// ahead. Each <see cref="Step"/> is one short transaction dropping one partition.
/// </summary>
internal sealed class PostgresRetention(Partitions partitions, StorageOptions options, TimeProvider time)
{
    /// <summary>Partitions to drop; an item without a table deletes the chunks past raw retention.</summary>
    private readonly Queue<(string Name, PartitionedTable? Table)> _work = new();
    private long? _nextSweep;

    /// <summary>Whether a step is due: a sweep is under way, or the pause after the last one has passed.</summary>
    public bool Due => _work.Count > 0 || _nextSweep is not { } next || time.GetUtcNow().ToUnixTimeMilliseconds() >= next;

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
        if (_work.Count == 0)
        {
            Plan(c, now);
        }

        if (!_work.TryDequeue(out var item))
        {
            _nextSweep = now + (long)options.PruneInterval.TotalMilliseconds;
            return 0;
        }

        if (item.Table is null)
        {
            // Whole chunks whose range lies before the raw cut, in one statement (a chunk is many samples).
            using var delete = new NpgsqlCommand("DELETE FROM chunks WHERE start_ts < $1 AND end_ts <= $1;", c);
            delete.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now - (long)options.RawRetention.TotalMilliseconds });
            var chunks = delete.ExecuteNonQuery();
            RowsDeleted += chunks;
            if (_work.Count == 0)
            {
                _nextSweep = now + (long)options.PruneInterval.TotalMilliseconds;
            }

            return chunks;
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

        // Last: a step that deletes nothing ends a caller's loop over the steps.
        _work.Enqueue(("chunks", null));
    }
}
