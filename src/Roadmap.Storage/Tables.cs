using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>All SQL on the series table.</summary>
internal static class SeriesTable
{
    public static long GetOrCreate(SqliteConnection c, SqliteTransaction? tx, string source, string signal) =>
        c.ExecuteScalar<long?>("SELECT id FROM series WHERE source = @source AND signal = @signal;", new { source, signal }, tx)
        ?? c.ExecuteScalar<long>("INSERT INTO series (source, signal) VALUES (@source, @signal) RETURNING id;", new { source, signal }, tx);

    public static long? Find(SqliteConnection c, string source, string signal) =>
        c.ExecuteScalar<long?>("SELECT id FROM series WHERE source = @source AND signal = @signal;", new { source, signal });
}

/// <summary>All SQL on the samples table.</summary>
internal static class SamplesTable
{
    /// <summary>Rows per statement of <see cref="InsertManyRaw"/>.</summary>
    public const int InsertManyRows = 64;

    /// <summary>One sample, positional (?1 series, ?2 ts, ?3 value) for the raw API; a second sample of a series at one ts replaces the first.</summary>
    public static readonly string InsertOneRaw = InsertRaw(1);

    /// <summary><see cref="InsertManyRows"/> samples in one statement; see <see cref="InsertRaw"/>.</summary>
    public static readonly string InsertManyRaw = InsertRaw(InsertManyRows);

    /// <summary>
    /// <paramref name="rows"/> samples in one statement, positional: ?1 series, ?2 ts, ?3 value for the first row, ?4 to
    /// ?6 for the second, and so on. Rows of one statement are inserted in order, so a later sample of a series at one
    /// ts replaces an earlier one, within a statement as across statements.
    /// </summary>
    private static string InsertRaw(int rows) => "INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES "
        + string.Join(", ", Enumerable.Range(0, rows).Select(i => $"(?{(3 * i) + 1}, ?{(3 * i) + 2}, ?{(3 * i) + 3})")) + ";";

    public static List<Point> Range(SqliteConnection c, long seriesId, long fromMs, long toMs) =>
        c.Query<Point>(
            "SELECT ts AS TimestampMs, value AS Value FROM samples WHERE series_id = @seriesId AND ts >= @fromMs AND ts <= @toMs ORDER BY ts;",
            new { seriesId, fromMs, toMs })
        .AsList();
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

/// <summary>A poll as read back.</summary>
public sealed record StoredPoll(string Source, long TimestampMs, double DurationMs, string Outcome, string? Reason);

/// <summary>A rollup granularity: per series and hour, or per series and UTC day.</summary>
public sealed class RollupLevel
{
    private RollupLevel(string table, TimeSpan size)
    {
        Table = table;
        SizeMs = (long)size.TotalMilliseconds;
    }

    public static RollupLevel Hour { get; } = new("rollups_hour", TimeSpan.FromHours(1));

    public static RollupLevel Day { get; } = new("rollups_day", TimeSpan.FromDays(1));

    public string Table { get; }

    /// <summary>The bucket length in milliseconds.</summary>
    public long SizeMs { get; }

    /// <summary>The start of the bucket holding <paramref name="ts"/> (unix ms UTC; UTC days since the epoch has none of its own).</summary>
    public long StartOf(long ts) => ts - (((ts % SizeMs) + SizeMs) % SizeMs);

    public override string ToString() => Table;
}

/// <summary>All SQL on the rollups_hour and rollups_day tables.</summary>
internal static class RollupsTable
{
    private const string Columns = "count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch";

    public static string Upsert(RollupLevel level) =>
        $"INSERT OR REPLACE INTO {level.Table} (series_id, start_ts, {Columns}) VALUES ($series, $start, $count, $sum, $min, $max, $first_ts, $first_value, $last_ts, $last_value, $increase, $sketch);";

    public static string SelectOne(RollupLevel level) =>
        $"SELECT {Columns} FROM {level.Table} WHERE series_id = $series AND start_ts = $start;";

    /// <summary>Buckets with from &lt;= start_ts &lt; to, oldest first.</summary>
    public static string SelectRange(RollupLevel level) =>
        $"SELECT {Columns} FROM {level.Table} WHERE series_id = $series AND start_ts >= $from AND start_ts < $to ORDER BY start_ts;";

    /// <summary>Reads the columns of <see cref="Columns"/> starting at ordinal 0.</summary>
    /// <param name="withSketch">False: the summary gets an empty sketch (the caller merges column 9 itself).</param>
    public static SeriesSummary Read(SqliteDataReader r, bool withSketch = true) =>
        SeriesSummary.Restore(
            r.GetInt64(0), r.GetDouble(1), r.GetDouble(2), r.GetDouble(3), r.GetInt64(4), r.GetDouble(5), r.GetInt64(6), r.GetDouble(7), r.GetDouble(8),
            withSketch ? QuantileSketch.FromBytes(r.GetFieldValue<byte[]>(9)) : new QuantileSketch());

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
        var builder = new RollupBuilder(hourUpsert, dayUpsert);
        while (r.Read())
        {
            builder.Add(r.GetInt64(0), r.GetInt64(1), r.GetDouble(2));
        }

        builder.Complete();
    }
}

/// <summary>Builds hour and day rollups from samples arriving sorted by (series, ts), writing each bucket when it is complete.</summary>
internal sealed class RollupBuilder(SqliteCommand hourUpsert, SqliteCommand dayUpsert)
{
    private long _series = long.MinValue;
    private long _hour = long.MinValue;
    private long _day = long.MinValue;
    private SeriesSummary? _hourSummary;
    private SeriesSummary? _daySummary;

    public void Add(long series, long ts, double value)
    {
        var hour = RollupLevel.Hour.StartOf(ts);
        var day = RollupLevel.Day.StartOf(ts);
        if (series != _series || hour != _hour)
        {
            WriteHour();
            _hour = hour;
            _hourSummary = SeriesSummary.Empty();
        }

        if (series != _series || day != _day)
        {
            WriteDay();
            _day = day;
            _daySummary = SeriesSummary.Empty();
        }

        _series = series;
        var p = new Point(ts, value);
        _hourSummary!.Add(p);
        _daySummary!.Add(p);
    }

    public void Complete()
    {
        WriteHour();
        WriteDay();
    }

    private void WriteHour()
    {
        if (_hourSummary is { Count: > 0 } s)
        {
            RollupsTable.Bind(hourUpsert, _series, _hour, s);
            hourUpsert.ExecuteNonQuery();
        }

        _hourSummary = null;
    }

    private void WriteDay()
    {
        if (_daySummary is { Count: > 0 } s)
        {
            RollupsTable.Bind(dayUpsert, _series, _day, s);
            dayUpsert.ExecuteNonQuery();
        }

        _daySummary = null;
    }
}
