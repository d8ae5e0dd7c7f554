using Dapper;
using Microsoft.Data.Sqlite;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// Deletes what is older than the retention periods, a little at a time: each <see cref="Step"/> is one short
/// transaction of at most <see cref="StorageOptions.PruneBatchRows"/> rows, so the writer runs it between flushes and
/// ingest never waits long behind it. Raw samples (hot rows, and whole chunks once all of their range is older) and
/// polls are kept for <see cref="StorageOptions.RawRetention"/>;
/// hour and day rollups for <see cref="StorageOptions.RollupRetention"/> (a bucket goes once all of it is older).
/// One sweep walks every source and series; a finished sweep starts again after <see cref="StorageOptions.PruneInterval"/>.
/// </summary>
public sealed class Retention(StorageOptions options, TimeProvider time)
{
    private readonly Queue<(string What, long Series, string? Source)> _work = new();
    private long? _nextSweep;

    /// <summary>Whether a step is due: a sweep is under way, or the pause after the last one has passed.</summary>
    public bool Due => _work.Count > 0 || _nextSweep is not { } next || time.GetUtcNow().ToUnixTimeMilliseconds() >= next;

    /// <summary>Rows deleted so far.</summary>
    public long RowsDeleted { get; private set; }

    /// <summary>
    /// One transaction: deletes at most <see cref="StorageOptions.PruneBatchRows"/> rows older than the retention periods.
    /// Returns how many it deleted; 0 when the sweep is done (or nothing is due).
    /// </summary>
    public int Step(SqliteConnection c)
    {
        if (!Due)
        {
            return 0;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_work.Count == 0)
        {
            Plan(c);
        }

        var rawCut = now - (long)options.RawRetention.TotalMilliseconds;
        var rollupCut = now - (long)options.RollupRetention.TotalMilliseconds;
        var budget = options.PruneBatchRows;
        using var tx = c.BeginTransaction();
        while (budget > 0 && _work.TryPeek(out var item))
        {
            var deleted = item.What switch
            {
                "polls" => c.Execute(
                    "DELETE FROM polls WHERE id IN (SELECT id FROM polls WHERE source = @source AND ts < @cut ORDER BY ts LIMIT @budget);",
                    new { source = item.Source, cut = rawCut, budget }, tx),
                "samples" => DeleteOldest(c, tx, "samples", "ts", item.Series, rawCut, budget),
                // Whole chunks only: one whose range ends after the cut stays until all of it is older.
                "chunks" => c.Execute(
                    "DELETE FROM chunks WHERE series_id = @series AND start_ts IN (SELECT start_ts FROM chunks WHERE series_id = @series AND start_ts < @cut AND end_ts <= @cut ORDER BY start_ts LIMIT @budget);",
                    new { series = item.Series, cut = rawCut, budget }, tx),
                "hour" => DeleteOldest(c, tx, RollupLevel.Hour.Table, "start_ts", item.Series, rollupCut - RollupLevel.Hour.SizeMs + 1, budget),
                _ => ClosedDaysDeleted(c, tx, item.Series, DeleteOldest(c, tx, RollupLevel.Day.Table, "start_ts", item.Series, rollupCut - RollupLevel.Day.SizeMs + 1, budget)),
            };
            budget -= deleted;
            if (budget > 0)
            {
                _work.Dequeue(); // fewer than asked for: this one is done
            }
        }

        tx.Commit();
        var total = options.PruneBatchRows - budget;
        RowsDeleted += total;
        if (_work.Count == 0)
        {
            _nextSweep = now + (long)options.PruneInterval.TotalMilliseconds;
        }

        return total;
    }

    private void Plan(SqliteConnection c)
    {
        // Distinct sources by index seeks, not a scan of every poll.
        var sources = c.Query<string>(
            """
            WITH RECURSIVE s(source) AS (
                SELECT min(source) FROM polls
                UNION ALL
                SELECT (SELECT min(source) FROM polls WHERE source > s.source) FROM s WHERE s.source IS NOT NULL)
            SELECT source FROM s WHERE source IS NOT NULL;
            """);
        foreach (var source in sources)
        {
            _work.Enqueue(("polls", 0, source));
        }

        var series = c.Query<long>("SELECT id FROM series ORDER BY id;").AsList();
        foreach (var what in new[] { "samples", "chunks", "hour", "day" })
        {
            foreach (var id in series)
            {
                _work.Enqueue((what, id, null));
            }
        }
    }

    /// <summary>Raises the series' closed-days version when day rollups of it were deleted: a reader may keep them
    /// merged (<see cref="ClosedDaysCache"/>). Returns <paramref name="deleted"/>.</summary>
    private static int ClosedDaysDeleted(SqliteConnection c, SqliteTransaction tx, long series, int deleted)
    {
        if (deleted > 0)
        {
            c.Execute(SeriesTable.ClosedDaysChangedRaw.Replace("?1", "@series", StringComparison.Ordinal), new { series }, tx);
        }

        return deleted;
    }

    /// <summary>Deletes at most <paramref name="limit"/> rows of one series with key &lt; <paramref name="cut"/>,
    /// oldest first: the key of the limit-th oldest row bounds the range (this SQLite has no DELETE ... LIMIT).</summary>
    private static int DeleteOldest(SqliteConnection c, SqliteTransaction tx, string table, string column, long series, long cut, int limit) =>
        c.Execute(
            $"""
            DELETE FROM {table} WHERE series_id = @series AND {column} < min(@cut,
                coalesce((SELECT {column} FROM {table} WHERE series_id = @series ORDER BY {column} LIMIT 1 OFFSET @limit), @cut));
            """,
            new { series, cut, limit },
            tx);
}
