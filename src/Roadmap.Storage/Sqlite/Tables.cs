using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>All SQL on the series table.</summary>
internal static class SeriesTable
{
    /// <summary>Positional (?1 source, ?2 signal) for the raw API: the id and source key, or no row.</summary>
    public const string FindRaw = "SELECT id, source_key FROM series WHERE source = ?1 AND signal = ?2;";

    /// <summary>
    /// Positional (?1 source, ?2 signal) for the raw API: creates the series and returns its id and source key. The key
    /// is that of the source's newest series group with room left (<see cref="SamplesTable.SeriesPerSourceKey"/>); else
    /// the series starts a group of its own, keyed by the id it gets (max(id) + 1, which is what SQLite gives it; were it
    /// not, only where the samples lie would change, not which are read).
    /// </summary>
    public static readonly string CreateRaw = FormattableString.Invariant($"""
        INSERT INTO series (source, signal, source_key)
        VALUES (?1, ?2, coalesce(
            (SELECT source_key FROM series WHERE source = ?1 GROUP BY source_key HAVING count(*) < {SamplesTable.SeriesPerSourceKey} ORDER BY source_key DESC LIMIT 1),
            (SELECT coalesce(max(id), 0) + 1 FROM series)))
        RETURNING id, source_key;
        """);

    /// <summary>Positional (?1 series id) for the raw API: the series' source key, or no row.</summary>
    public const string SourceKeyRaw = "SELECT source_key FROM series WHERE id = ?1;";

    /// <summary>
    /// The source key of series ?1 as an SQL expression, for the statements on the samples table: the series' own id
    /// when it has no row (samples the migration kept without one are stored under it).
    /// </summary>
    public const string SourceKeyOf1 = "coalesce((SELECT source_key FROM series WHERE id = ?1), ?1)";

    /// <summary>Positional (?1 series id) for the raw API: raises the series' closed-days version (<see cref="ClosedDaysCache"/>).</summary>
    public const string ClosedDaysChangedRaw = "UPDATE series SET closed_days_version = closed_days_version + 1 WHERE id = ?1;";
}

/// <summary>
/// All SQL on the samples table: the hot samples (the newest hour or so, and late ones), one row per source key and ts,
/// clustered by (source_key, ts). A row holds the samples the key's series have at that ts (<see cref="HotRow"/>): a
/// poll of a source is one row, so a batch inserts one row per poll, not one per signal, and writes the newest page of
/// each source it touches. A series' samples are read as its key's rows of the range, each row's entry of the series
/// picked out.
/// </summary>
internal static class SamplesTable
{
    /// <summary>
    /// At most this many series share a source key: a series is read as its key's rows of the range, so a source with
    /// hundreds of signals would make every read of one of them decode rows of hundreds of entries. An http source has
    /// 9 signals a poll, 11 over https: one key.
    /// </summary>
    public const int SeriesPerSourceKey = 16;

    /// <summary>Rows per statement of <see cref="InsertManyRaw"/>.</summary>
    public const int InsertManyRows = 32;

    /// <summary>One row, positional (?1 source key, ?2 ts, ?3 data) for the raw API; a row stored at that key and ts is left as it is.</summary>
    public static readonly string InsertOneRaw = InsertRaw(1);

    /// <summary><see cref="InsertManyRows"/> rows in one statement; see <see cref="InsertRaw"/>.</summary>
    public static readonly string InsertManyRaw = InsertRaw(InsertManyRows);

    /// <summary>Positional (?1 source key, ?2 ts): the row's data, or no row.</summary>
    public const string SelectRowRaw = "SELECT data FROM samples WHERE source_key = ?1 AND ts = ?2;";

    /// <summary>Positional (?1 source key, ?2 ts, ?3 data): replaces a stored row's data.</summary>
    public const string UpdateRowRaw = "UPDATE samples SET data = ?3 WHERE source_key = ?1 AND ts = ?2;";

    /// <summary>Positional (?1 source key, ?2 ts): deletes one row.</summary>
    public const string DeleteRowRaw = "DELETE FROM samples WHERE source_key = ?1 AND ts = ?2;";

    /// <summary>
    /// <paramref name="rows"/> rows in one statement, positional: ?1 source key, ?2 ts, ?3 data for the first row, ?4 to
    /// ?6 for the second, and so on. A row whose (key, ts) is stored is not inserted (the caller merges it: sqlite3_changes
    /// tells it whether any was left out).
    /// </summary>
    private static string InsertRaw(int rows) => "INSERT INTO samples (source_key, ts, data) VALUES "
        + string.Join(", ", Enumerable.Range(0, rows).Select(i => $"(?{(3 * i) + 1}, ?{(3 * i) + 2}, ?{(3 * i) + 3})"))
        + " ON CONFLICT (source_key, ts) DO NOTHING;";

    /// <summary>
    /// Positional (?1 source key, ?2 cut, ?3 limit): deletes the key's rows older than the cut, at most the limit of
    /// them (the oldest); every series of a key has the same retention. Both lookups stop at the cut: with nothing that
    /// old, the statement reads no row.
    /// </summary>
    public const string DeleteOldestRaw = """
        DELETE FROM samples WHERE source_key = ?1 AND ts < min(?2,
            coalesce((SELECT ts FROM samples WHERE source_key = ?1 AND ts < ?2 ORDER BY ts LIMIT 1 OFFSET ?3), ?2));
        """;

    /// <summary>
    /// Migration v9: the v8 samples (one row per sample, keyed by (source_key, ts, series_id)) into samples_v9 as hot
    /// rows, read in key order so that each run of one key and ts is a row; then samples_v9 takes the table's name.
    /// </summary>
    public static void MoveToHotRows(SqliteConnection c, SqliteTransaction tx)
    {
        using var read = c.CreateCommand();
        read.Transaction = tx;
        read.CommandText = "SELECT source_key, ts, series_id, value FROM samples ORDER BY source_key, ts, series_id;";
        using var insert = c.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO samples_v9 (source_key, ts, data) VALUES ($key, $ts, $data);";
        var key = insert.Parameters.Add("$key", SqliteType.Integer);
        var ts = insert.Parameters.Add("$ts", SqliteType.Integer);
        var data = insert.Parameters.Add("$data", SqliteType.Blob);
        insert.Prepare();
        var row = new List<byte>();
        Span<byte> entry = stackalloc byte[HotRow.MaxEntryBytes];
        (long Key, long Ts)? current = null;
        void Flush()
        {
            if (current is { } k)
            {
                key.Value = k.Key;
                ts.Value = k.Ts;
                data.Value = row.ToArray();
                insert.ExecuteNonQuery();
                row.Clear();
            }
        }

        using (var r = read.ExecuteReader())
        {
            while (r.Read())
            {
                var (k, t) = (r.GetInt64(0), r.GetInt64(1));
                if (current != (k, t))
                {
                    Flush();
                    current = (k, t);
                }

                var n = HotRow.Write(entry, r.GetInt64(2) - k, r.GetDouble(3));
                foreach (var b in entry[..n])
                {
                    row.Add(b);
                }
            }
        }

        Flush();
        using var swap = c.CreateCommand();
        swap.Transaction = tx;
        swap.CommandText = "DROP TABLE samples; ALTER TABLE samples_v9 RENAME TO samples;";
        swap.ExecuteNonQuery();
    }

    /// <summary>Every source key with rows older than @rawCut, by index seeks (a seek per key, not a scan of every row).</summary>
    public const string KeysWithOlder = """
        WITH RECURSIVE k(key) AS (
            SELECT min(source_key) FROM samples
            UNION ALL
            SELECT (SELECT min(source_key) FROM samples WHERE source_key > k.key) FROM k WHERE k.key IS NOT NULL)
        SELECT key FROM k WHERE key IS NOT NULL AND EXISTS (SELECT 1 FROM samples s WHERE s.source_key = k.key AND s.ts < @rawCut);
        """;
}

/// <summary>All SQL on the polls table.</summary>
internal static class PollsTable
{
    /// <summary>Positional (?1 source, ?2 ts, ?3 duration_ms, ?4 outcome, ?5 reason) for the raw API.</summary>
    public const string InsertRaw = "INSERT INTO polls (source, ts, duration_ms, outcome, reason) VALUES (?1, ?2, ?3, ?4, ?5);";

    /// <summary>The last poll of $source: ts, outcome, reason.</summary>
    public const string SelectLast = "SELECT ts, outcome, reason FROM polls WHERE source = $source ORDER BY ts DESC, id DESC LIMIT 1;";

    /// <summary>The last successful poll of $source after $after (walks the index back from the newest poll).</summary>
    public const string SelectLastSuccessAfter = "SELECT ts FROM polls WHERE source = $source AND ts > $after AND outcome = 'success' ORDER BY ts DESC LIMIT 1;";

    /// <summary>The first poll of $source after $after.</summary>
    public const string SelectFirstAfter = "SELECT ts FROM polls WHERE source = $source AND ts > $after ORDER BY ts LIMIT 1;";

    public static List<StoredPoll> Range(SqliteConnection c, string source, long fromMs, long toMs) =>
        c.Query<StoredPoll>(
            "SELECT source AS Source, ts AS TimestampMs, duration_ms AS DurationMs, outcome AS Outcome, reason AS Reason FROM polls WHERE source = @source AND ts >= @fromMs AND ts <= @toMs ORDER BY ts;",
            new { source, fromMs, toMs })
        .AsList();

    public static long Count(SqliteConnection c, string? source) =>
        source is null
            ? c.ExecuteScalar<long>("SELECT count(*) FROM polls;")
            : c.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = @source;", new { source });
}

/// <summary>All SQL on the rollups_hour and rollups_day tables.</summary>
internal static class RollupsTable
{
    /// <summary>A rollup row's columns after its key, in the order readers take them.</summary>
    internal const string Columns = "count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch";

    public static string Upsert(RollupLevel level) =>
        $"INSERT OR REPLACE INTO {level.Table} (series_id, start_ts, {Columns}) VALUES ($series, $start, $count, $sum, $min, $max, $first_ts, $first_value, $last_ts, $last_value, $increase, $sketch);";

    public static string SelectOne(RollupLevel level) =>
        $"SELECT {Columns} FROM {level.Table} WHERE series_id = $series AND start_ts = $start;";

    /// <summary>Positional (?1 series, ?2 from, ?3 to) for the raw API: deletes the buckets with from &lt;= start_ts &lt; to.</summary>
    public static string DeleteRangeRaw(RollupLevel level) =>
        $"DELETE FROM {level.Table} WHERE series_id = ?1 AND start_ts >= ?2 AND start_ts < ?3;";

    /// <summary>Buckets with from &lt;= start_ts &lt; to, oldest first.</summary>
    public static string SelectRange(RollupLevel level) =>
        $"SELECT {Columns} FROM {level.Table} WHERE series_id = $series AND start_ts >= $from AND start_ts < $to ORDER BY start_ts;";

    /// <summary>The parameters of <see cref="Upsert"/> by position, for the raw API.</summary>
    public static void BindRaw(sqlite3_stmt upsert, long seriesId, long start, SeriesSummary s)
    {
        raw.sqlite3_bind_int64(upsert, 1, seriesId);
        raw.sqlite3_bind_int64(upsert, 2, start);
        raw.sqlite3_bind_int64(upsert, 3, s.Count);
        raw.sqlite3_bind_double(upsert, 4, s.Sum);
        raw.sqlite3_bind_double(upsert, 5, s.Min);
        raw.sqlite3_bind_double(upsert, 6, s.Max);
        raw.sqlite3_bind_int64(upsert, 7, s.FirstTimestampMs);
        raw.sqlite3_bind_double(upsert, 8, s.FirstValue);
        raw.sqlite3_bind_int64(upsert, 9, s.LastTimestampMs);
        raw.sqlite3_bind_double(upsert, 10, s.LastValue);
        raw.sqlite3_bind_double(upsert, 11, s.Increase);
        raw.sqlite3_bind_blob(upsert, 12, s.Sketch.ToBytes());
    }

    /// <summary>Reads the columns of <see cref="Columns"/> from the current row of a raw statement.</summary>
    /// <param name="withSketch">False: the summary gets an empty sketch (the caller merges column 9 itself).</param>
    public static SeriesSummary ReadRaw(sqlite3_stmt r, bool withSketch = true) =>
        SeriesSummary.Restore(
            raw.sqlite3_column_int64(r, 0), raw.sqlite3_column_double(r, 1), raw.sqlite3_column_double(r, 2), raw.sqlite3_column_double(r, 3),
            raw.sqlite3_column_int64(r, 4), raw.sqlite3_column_double(r, 5), raw.sqlite3_column_int64(r, 6), raw.sqlite3_column_double(r, 7),
            raw.sqlite3_column_double(r, 8), withSketch ? QuantileSketch.FromBytes(raw.sqlite3_column_blob(r, 9)) : new QuantileSketch());

    /// <summary>A prepared upsert for one level; bind with <see cref="Bind"/>.</summary>
    public static SqliteCommand PrepareUpsert(SqliteConnection c, RollupLevel level, SqliteTransaction? tx = null)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = Upsert(level);
        foreach (var name in new[] { "$series", "$start", "$count", "$first_ts", "$last_ts" })
        {
            cmd.Parameters.Add(name, SqliteType.Integer);
        }

        foreach (var name in new[] { "$sum", "$min", "$max", "$first_value", "$last_value", "$increase" })
        {
            cmd.Parameters.Add(name, SqliteType.Real);
        }

        cmd.Parameters.Add("$sketch", SqliteType.Blob);
        cmd.Prepare();
        return cmd;
    }

    public static void Bind(SqliteCommand upsert, long seriesId, long start, SeriesSummary s)
    {
        var p = upsert.Parameters;
        p["$series"].Value = seriesId;
        p["$start"].Value = start;
        p["$count"].Value = s.Count;
        p["$sum"].Value = s.Sum;
        p["$min"].Value = s.Min;
        p["$max"].Value = s.Max;
        p["$first_ts"].Value = s.FirstTimestampMs;
        p["$first_value"].Value = s.FirstValue;
        p["$last_ts"].Value = s.LastTimestampMs;
        p["$last_value"].Value = s.LastValue;
        p["$increase"].Value = s.Increase;
        p["$sketch"].Value = s.Sketch.ToBytes();
    }

    /// <summary>Recomputes every rollup from the raw samples (migration v3: rollups of the samples already stored).</summary>
    public static void RebuildAll(SqliteConnection c, SqliteTransaction tx)
    {
        using var hourUpsert = PrepareUpsert(c, RollupLevel.Hour, tx);
        using var dayUpsert = PrepareUpsert(c, RollupLevel.Day, tx);
        using var read = c.CreateCommand();
        read.Transaction = tx;
        read.CommandText = "SELECT series_id, ts, value FROM samples ORDER BY series_id, ts;";
        using var r = read.ExecuteReader();
        var builder = new RollupBuilder((level, row) =>
        {
            var upsert = level == RollupLevel.Hour ? hourUpsert : dayUpsert;
            Bind(upsert, row.Series, row.StartMs, row.Summary);
            upsert.ExecuteNonQuery();
        });
        while (r.Read())
        {
            builder.Add(r.GetInt64(0), r.GetInt64(1), r.GetDouble(2));
        }

        builder.Complete();
    }
}

/// <summary>All SQL on the chunks table (compact history: <see cref="Chunks.ChunkCodec"/>).</summary>
internal static class ChunksTable
{
    /// <summary>
    /// Positional (?1 series, ?2 from, ?3 to) for the raw API: the chunks whose range overlaps [from, to), oldest first.
    /// A range is at most a day long, so the key seek starts a day before <c>from</c>.
    /// </summary>
    public static readonly string OverlappingRaw = FormattableString.Invariant(
        $"SELECT data FROM chunks WHERE series_id = ?1 AND start_ts > ?2 - {Chunks.ChunkedSamples.MaxRangeMs} AND start_ts < ?3 AND end_ts > ?2 ORDER BY start_ts;");

    /// <summary>Positional (?1 series, ?2 from, ?3 to): the chunks whose range starts in [from, to), oldest first.</summary>
    public const string StartingInRaw = "SELECT data FROM chunks WHERE series_id = ?1 AND start_ts >= ?2 AND start_ts < ?3 ORDER BY start_ts;";

    /// <summary>Positional (?1 series, ?2 from, ?3 to): the sum of the counts of the chunks starting in [from, to).</summary>
    public const string CountStartingInRaw = "SELECT coalesce(sum(count), 0) FROM chunks WHERE series_id = ?1 AND start_ts >= ?2 AND start_ts < ?3;";

    /// <summary>Positional (?1 series, ?2 from, ?3 to): deletes the chunks whose range starts in [from, to).</summary>
    public const string DeleteStartingInRaw = "DELETE FROM chunks WHERE series_id = ?1 AND start_ts >= ?2 AND start_ts < ?3;";

    /// <summary>Positional (?1 series, ?2 start, ?3 end, ?4 count, ?5 min ts, ?6 max ts, ?7 data).</summary>
    public const string InsertRaw = "INSERT INTO chunks (series_id, start_ts, end_ts, count, min_ts, max_ts, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);";

    /// <summary>Positional (?1 series, ?2 start, ?3 end): a row when the series has a chunk of exactly [start, end).</summary>
    public const string ExactRaw = "SELECT 1 FROM chunks WHERE series_id = ?1 AND start_ts = ?2 AND end_ts = ?3;";

    /// <summary>Positional (?1 day start): chunks shorter than a day starting before it, as (series, start).</summary>
    public static readonly string PartialRaw = FormattableString.Invariant(
        $"SELECT series_id, start_ts FROM chunks WHERE end_ts - start_ts < {Chunks.ChunkedSamples.MaxRangeMs} AND start_ts < ?1 ORDER BY start_ts LIMIT ?2;");

    /// <summary>Positional (?1 series): the oldest chunk's oldest sample's ts; no row when the series has no chunk.</summary>
    public const string OldestSealedRaw = "SELECT min_ts FROM chunks WHERE series_id = ?1 ORDER BY start_ts LIMIT 1;";

    /// <summary>
    /// Positional (?1 series, ?2 from, ?3 to): the series' key's hot rows with from &lt;= ts &lt; to, oldest first, as
    /// (ts, data, the series' offset in the key: <see cref="HotRow"/>). A series without a row in the series table is
    /// stored under its own id.
    /// </summary>
    public const string HotRaw = $"SELECT ts, data, ?1 - source_key FROM samples WHERE source_key = {SeriesTable.SourceKeyOf1} AND ts >= ?2 AND ts < ?3 ORDER BY ts;";

    /// <summary>Positional (?1 series, ?2 from, ?3 to): how many rows the series' key has with from &lt;= ts &lt; to.</summary>
    public const string HotRowsRaw = $"SELECT count(*) FROM samples WHERE source_key = {SeriesTable.SourceKeyOf1} AND ts >= ?2 AND ts < ?3;";
}
