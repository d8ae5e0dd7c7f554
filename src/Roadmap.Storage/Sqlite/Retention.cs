using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// Deletes what is older than the retention periods, a little at a time: each <see cref="Step"/> is one short
/// transaction of at most <see cref="StorageOptions.PruneBatchRows"/> rows, so the writer runs it between flushes and
/// ingest never waits long behind it. Raw samples (hot rows, and whole chunks once all of their range is older) and
/// polls are kept for <see cref="StorageOptions.RawRetention"/>; a day chunk's hour rollups are derived back from it
/// before it goes (a sealed day keeps none: <see cref="DeleteChunks"/>);
/// hour and day rollups for <see cref="StorageOptions.RollupRetention"/> (a bucket goes once all of it is older).
/// One sweep walks every source and series; a finished sweep starts again after <see cref="StorageOptions.PruneInterval"/>.
/// </summary>
public sealed class Retention(StorageOptions options, TimeProvider time)
{
    /// <summary><see cref="SamplesTable.DeleteOldestRaw"/> with Dapper's named parameters (@p1 source key, @p2 cut, @p3 limit), built once.</summary>
    private static readonly string DeleteOldestSamples = SamplesTable.DeleteOldestRaw.Replace("?", "@p", StringComparison.Ordinal);

    /// <summary>The sweep's work: what to delete, of which series (the source key for hot samples) or source.</summary>
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
        var rawCut = now - (long)options.RawRetention.TotalMilliseconds;
        var rollupCut = now - (long)options.RollupRetention.TotalMilliseconds;
        if (_work.Count == 0)
        {
            Plan(c, rawCut, rollupCut);
        }

        var budget = options.PruneBatchRows;
        var total = 0;
        using var tx = c.BeginTransaction();
        using var chunks = new SqliteChunks(c.Handle!);
        while (budget > 0 && _work.TryPeek(out var item))
        {
            if (item.What == "chunks")
            {
                var (deleted, done) = DeleteChunks(c, tx, chunks, item.Series, rawCut, rollupCut, ref budget);
                total += deleted;
                if (done)
                {
                    _work.Dequeue();
                }

                continue;
            }

            var rows = item.What switch
            {
                "polls" => c.Execute(
                    "DELETE FROM polls WHERE id IN (SELECT id FROM polls WHERE source = @source AND ts < @cut ORDER BY ts LIMIT @budget);",
                    new { source = item.Source, cut = rawCut, budget }, tx),
                "samples" => c.Execute(DeleteOldestSamples, new { p1 = item.Series, p2 = rawCut, p3 = budget }, tx),
                "hour" => DeleteOldest(c, tx, RollupLevel.Hour.Table, "start_ts", item.Series, StartCut(RollupLevel.Hour, rollupCut), budget),
                _ => ClosedDaysDeleted(c, tx, item.Series, DeleteOldest(c, tx, RollupLevel.Day.Table, "start_ts", item.Series, StartCut(RollupLevel.Day, rollupCut), budget)),
            };
            budget -= rows;
            total += rows;
            if (budget > 0)
            {
                _work.Dequeue(); // fewer than asked for: this one is done
            }
        }

        tx.Commit();
        RowsDeleted += total;
        if (_work.Count == 0)
        {
            _nextSweep = now + (long)options.PruneInterval.TotalMilliseconds;
        }

        return total;
    }

    /// <summary>
    /// The first start a rollup row of <paramref name="level"/> is kept from: one starting before it ends at or before
    /// <paramref name="rollupCut"/>. Step's deletes and Plan's lookups both cut here.
    /// </summary>
    private static long StartCut(RollupLevel level, long rollupCut) => rollupCut - level.SizeMs + 1;

    /// <summary>
    /// The sweep's work: each source, and per kind each series (each source key for hot samples), that has something past its cut now. Each query seeks
    /// once per source or series inside SQLite and reads no row that is kept, so a sweep that finds nothing costs
    /// milliseconds; a statement per series and kind, found or not, held the writer for seconds at 18,000 series
    /// (docs/PERFORMANCE.md). What passes its cut after the plan waits for the next sweep.
    /// </summary>
    private void Plan(SqliteConnection c, long rawCut, long rollupCut)
    {
        // Distinct sources by index seeks, not a scan of every poll.
        var sources = c.Query<string>(
            """
            WITH RECURSIVE s(source) AS (
                SELECT min(source) FROM polls
                UNION ALL
                SELECT (SELECT min(source) FROM polls WHERE source > s.source) FROM s WHERE s.source IS NOT NULL)
            SELECT source FROM s WHERE source IS NOT NULL AND EXISTS (SELECT 1 FROM polls p WHERE p.source = s.source AND p.ts < @rawCut);
            """,
            new { rawCut });
        foreach (var source in sources)
        {
            _work.Enqueue(("polls", 0, source));
        }

        // Chunks before hot rows: a day chunk's hours are derived from its samples and the day's hot rows (late ones
        // not sealed again yet), which must still be there.
        var hourCut = StartCut(RollupLevel.Hour, rollupCut);
        var dayCut = StartCut(RollupLevel.Day, rollupCut);
        foreach (var (what, sql) in new[]
        {
            ("chunks", "SELECT id FROM series s WHERE EXISTS (SELECT 1 FROM chunks WHERE series_id = s.id AND start_ts < @rawCut AND end_ts <= @rawCut) ORDER BY id;"),
            ("samples", SamplesTable.KeysWithOlder),
            ("hour", $"SELECT id FROM series s WHERE EXISTS (SELECT 1 FROM {RollupLevel.Hour.Table} WHERE series_id = s.id AND start_ts < @hourCut) ORDER BY id;"),
            ("day", $"SELECT id FROM series s WHERE EXISTS (SELECT 1 FROM {RollupLevel.Day.Table} WHERE series_id = s.id AND start_ts < @dayCut) ORDER BY id;"),
        })
        {
            foreach (var id in c.Query<long>(sql, new { rawCut, hourCut, dayCut }))
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

    /// <summary>
    /// Deletes the oldest chunks of one series whose whole range is older than <paramref name="rawCut"/>, while
    /// <paramref name="budget"/> lasts. A day chunk answers for its day's hours (they were dropped when it was sealed),
    /// so before it goes its day's hour rollups are derived again from its samples and the day's hot rows, replacing any
    /// hour row of the day (a partial one a late sample left), except the hours already past rollup retention: windows
    /// keep hour precision at their edges once the raw days are gone. Such a chunk costs the budget the samples it holds
    /// (the work of deriving its hours), any other chunk one.
    /// </summary>
    /// <returns>The chunks deleted, and whether the series has none left to delete.</returns>
    private static (int Deleted, bool Done) DeleteChunks(SqliteConnection c, SqliteTransaction tx, SqliteChunks chunks, long series, long rawCut, long rollupCut, ref int budget)
    {
        var old = new List<(long Start, long End, long Count)>();
        using (var select = c.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT start_ts, end_ts, count FROM chunks WHERE series_id = $series AND start_ts < $cut AND end_ts <= $cut ORDER BY start_ts LIMIT $budget;";
            select.Parameters.AddWithValue("$series", series);
            select.Parameters.AddWithValue("$cut", rawCut);
            select.Parameters.AddWithValue("$budget", budget);
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                old.Add((r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
            }
        }

        var deleted = 0;
        foreach (var (start, end, count) in old)
        {
            if (budget <= 0)
            {
                return (deleted, false);
            }

            if (end - start == RollupLevel.Day.SizeMs)
            {
                DeriveHours(c, tx, chunks, series, start, rollupCut);
                budget -= (int)Math.Max(1, count);
            }
            else
            {
                budget--;
            }

            c.Execute("DELETE FROM chunks WHERE series_id = @series AND start_ts = @start;", new { series, start }, tx);
            deleted++;
        }

        return (deleted, budget > 0);
    }

    /// <summary>The hour rollups of one series' day, from its samples (chunk and hot rows), as the writer builds an hour
    /// it recomputes; the day's hour rows replaced, those past rollup retention left out. A damaged chunk is left to
    /// go without them.</summary>
    private static void DeriveHours(SqliteConnection c, SqliteTransaction tx, SqliteChunks chunks, long series, long day, long rollupCut)
    {
        var hours = new SortedDictionary<long, List<Point>>();
        try
        {
            chunks.Read(series, day, day + RollupLevel.Day.SizeMs, p =>
            {
                var hour = RollupLevel.Hour.StartOf(p.TimestampMs);
                if (hour + RollupLevel.Hour.SizeMs > rollupCut)
                {
                    if (!hours.TryGetValue(hour, out var points))
                    {
                        hours[hour] = points = [];
                    }

                    points.Add(p);
                }
            });
        }
        catch (StorageException e) when (e.InnerException is InvalidDataException)
        {
            // A damaged chunk: its samples are lost, and nothing can be derived from it; it still goes, or retention
            // would stop at it for good. The day keeps whatever hour rows it has.
            return;
        }
        chunks.DropHourRollups(series, day, day + RollupLevel.Day.SizeMs);
        using var upsert = RollupsTable.PrepareUpsert(c, RollupLevel.Hour, tx);
        foreach (var (hour, points) in hours)
        {
            RollupsTable.Bind(upsert, series, hour, SeriesSummary.FromPoints(points));
            upsert.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes at most <paramref name="limit"/> rows of one series with key &lt; <paramref name="cut"/>,
    /// oldest first: the key of the limit-th oldest row older than the cut bounds the range (this SQLite has no
    /// DELETE ... LIMIT); with nothing older, no row is read.</summary>
    private static int DeleteOldest(SqliteConnection c, SqliteTransaction tx, string table, string column, long series, long cut, int limit) =>
        c.Execute(
            $"""
            DELETE FROM {table} WHERE series_id = @series AND {column} < min(@cut,
                coalesce((SELECT {column} FROM {table} WHERE series_id = @series AND {column} < @cut ORDER BY {column} LIMIT 1 OFFSET @limit), @cut));
            """,
            new { series, cut, limit },
            tx);
}
