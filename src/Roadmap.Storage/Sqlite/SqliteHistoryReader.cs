using Microsoft.Data.Sqlite;
using Roadmap.Storage.Chunks;
using Roadmap.Storage.Copy;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// The reads of a copy between stores on one SQLite connection, the same for a source and a destination: a table's
/// streams, its count, a stream's page. All SQL of these reads is here.
/// </summary>
internal sealed class SqliteHistoryReader(SqliteConnection connection) : IDisposable
{
    private const string RollupColumns = "start_ts, " + RollupsTable.Columns;

    // (source, signal) -> series id in this file. Cleared by the import when a transaction that created one fails.
    private readonly Dictionary<(string Source, string Signal), long> _series = [];

    public SqliteConnection Connection => connection;

    public IReadOnlyList<HistoryStreamId> Streams(HistoryTable table) => SqliteFailures.Run(() =>
    {
        var sql = table switch
        {
            // The hot rows name a series by its offset from the key (HotRow): the series with an entry are found by
            // reading them all (the newest hour or so of samples, once per copy).
            HistoryTable.Samples => "SELECT source, signal, id FROM series;",
            _ when HistoryStreamId.OfSeries(table) =>
                $"SELECT source, signal, id FROM series s WHERE EXISTS (SELECT 1 FROM {TableOf(table)} WHERE series_id = s.id);",
            HistoryTable.Polls => "SELECT DISTINCT source, '', 0 FROM polls;",
            HistoryTable.Evaluations => "SELECT DISTINCT initiative, kpi, 0 FROM evaluations;",
            HistoryTable.Baselines => "SELECT DISTINCT initiative, kpi, 0 FROM baselines;",
            _ => "SELECT DISTINCT name, '', 0 FROM update_deliveries;",
        };
        var streams = new List<HistoryStreamId>();
        var hot = table == HistoryTable.Samples ? HotSeries() : null;
        using var cmd = Command(sql);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            if (hot is not null && !hot.ContainsKey(r.GetInt64(2)))
            {
                continue;
            }

            streams.Add(new HistoryStreamId(table, r.GetString(0), r.GetString(1)));
            if (HistoryStreamId.OfSeries(table))
            {
                _series[(r.GetString(0), r.GetString(1))] = r.GetInt64(2);
            }
        }

        return streams;
    });

    public long Count(HistoryTable table) => SqliteFailures.Run(() =>
    {
        if (table == HistoryTable.Samples)
        {
            return HotSeries().Values.Sum();
        }

        using var cmd = Command($"SELECT count(*) FROM {TableOf(table)};");
        return (long)cmd.ExecuteScalar()!;
    });

    /// <summary>The series with hot samples (<see cref="SamplesTable"/>) and how many each has: every hot row read once.</summary>
    private Dictionary<long, long> HotSeries()
    {
        var counts = new Dictionary<long, long>();
        using var cmd = Command("SELECT source_key, data, ts FROM samples;");
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var key = r.GetInt64(0);
            try
            {
                var reader = new HotRow.Reader(r.GetFieldValue<byte[]>(1));
                while (reader.Next(out var offset, out _))
                {
                    counts[key + offset] = counts.GetValueOrDefault(key + offset) + 1;
                }
            }
            catch (StorageException e) when (e.InnerException is InvalidDataException)
            {
                throw HotRowDamaged(e, key, r.GetInt64(2));
            }
        }

        return counts;
    }

    /// <summary>A damaged hot row's failure, saying which row: its source key and ts.</summary>
    private static StorageException HotRowDamaged(StorageException e, long key, long ts) =>
        new(FormattableString.Invariant($"{e.Message} (source key {key}, ts {ts}: {DateTimeOffset.FromUnixTimeMilliseconds(ts):yyyy-MM-dd HH:mm:ss} UTC)"), e.InnerException, e.Health, e.Cause);

    /// <summary>
    /// Up to <paramref name="limit"/> hot samples of one series after <paramref name="after"/>: its key's rows from the
    /// position's ts on, each row's entry of the series picked out, the first <see cref="StreamPosition.RowsAtKey"/> of
    /// them at that ts skipped (a series has one sample a ts, so at most one).
    /// </summary>
    private List<HistoryRow> HotSamples(long series, StreamPosition after, int limit)
    {
        var rows = new List<HistoryRow>(Math.Min(limit, 4096));
        using var cmd = Command($"SELECT ts, data, $a - source_key FROM samples WHERE source_key = {SeriesTable.SourceKeyOf1.Replace("?1", "$a", StringComparison.Ordinal)} AND ts >= $key ORDER BY ts;");
        cmd.Parameters.AddWithValue("$a", series);
        cmd.Parameters.AddWithValue("$key", after.Key);
        using var r = cmd.ExecuteReader();
        var skip = after.RowsAtKey;
        while (rows.Count < limit && r.Read())
        {
            var ts = r.GetInt64(0);
            double value;
            try
            {
                if (!HotRow.TryGet(r.GetFieldValue<byte[]>(1), r.GetInt64(2), out value))
                {
                    continue;
                }
            }
            catch (StorageException e) when (e.InnerException is InvalidDataException)
            {
                throw HotRowDamaged(e, series - r.GetInt64(2), ts);
            }

            if (ts == after.Key && skip > 0)
            {
                skip--;
                continue;
            }

            rows.Add(new HistorySampleRow(ts, value));
        }

        return rows;
    }

    public IReadOnlyList<HistoryRow> Read(HistoryStreamId stream, StreamPosition after, int limit) => SqliteFailures.Run(() =>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var table = stream.Table;
        var rows = new List<HistoryRow>(Math.Min(limit, 4096));
        // Rows of one key come in rowid order (the index's own order, so no sort): the same on every read of the file.
        var sql = table switch
        {
            HistoryTable.Samples => null,
            // A chunk's bytes are loaded only when a chunk can be that long: a damaged length costs nothing.
            HistoryTable.Chunks =>
                "SELECT start_ts, end_ts, count, min_ts, max_ts, length(data), CASE WHEN length(data) <= $max THEN data END FROM chunks WHERE series_id = $a AND start_ts >= $key ORDER BY start_ts",
            HistoryTable.RollupsHour or HistoryTable.RollupsDay =>
                $"SELECT {RollupColumns} FROM {TableOf(table)} WHERE series_id = $a AND start_ts >= $key ORDER BY start_ts",
            HistoryTable.Polls => "SELECT ts, duration_ms, outcome, reason FROM polls WHERE source = $a AND ts >= $key ORDER BY ts, id",
            HistoryTable.Evaluations =>
                "SELECT ts, value, target, status, rules FROM evaluations WHERE initiative = $a AND kpi = $b AND ts >= $key ORDER BY ts, rowid",
            HistoryTable.Baselines =>
                "SELECT from_date, to_date, definition, value, samples, computed_at FROM baselines WHERE initiative = $a AND kpi = $b AND computed_at >= $key ORDER BY computed_at, from_date, to_date, definition",
            _ => "SELECT fire_ts, ended_ts, outcome, attempts, blocked FROM update_deliveries WHERE name = $a AND fire_ts >= $key ORDER BY fire_ts",
        };
        object a = stream.Name;
        if (HistoryStreamId.OfSeries(table))
        {
            if (SeriesId(stream.Name, stream.Part) is not { } id)
            {
                return rows;
            }

            a = id;
        }

        if (sql is null)
        {
            return HotSamples((long)a, after, limit);
        }

        using var cmd = Command(sql + " LIMIT $limit OFFSET $skip;");
        cmd.Parameters.AddWithValue("$a", a);
        if (sql.Contains("$b", StringComparison.Ordinal))
        {
            cmd.Parameters.AddWithValue("$b", stream.Part);
        }

        if (table == HistoryTable.Chunks)
        {
            cmd.Parameters.AddWithValue("$max", ChunkCodec.MaxBytes);
        }

        cmd.Parameters.AddWithValue("$key", after.Key);
        cmd.Parameters.AddWithValue("$limit", limit);
        cmd.Parameters.AddWithValue("$skip", after.RowsAtKey);
        using var r = cmd.ExecuteReader();
        long bytes = 0;
        while (bytes < HistoryChunkRow.PageBytes && r.Read())
        {
            rows.Add(table switch
            {
                HistoryTable.Chunks => HistoryChunkRow.Read(stream, r, ref bytes),
                HistoryTable.RollupsHour or HistoryTable.RollupsDay => new HistoryRollupRow(
                    r.GetInt64(0), r.GetInt64(1), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4), r.GetInt64(5), r.GetDouble(6),
                    r.GetInt64(7), r.GetDouble(8), r.GetDouble(9), r.GetFieldValue<byte[]>(10)),
                HistoryTable.Polls => new HistoryPollRow(r.GetInt64(0), r.GetDouble(1), r.GetString(2), NullableString(r, 3)),
                HistoryTable.Evaluations => new HistoryEvaluationRow(r.GetInt64(0), NullableDouble(r, 1), NullableDouble(r, 2), r.GetString(3), r.GetInt64(4)),
                HistoryTable.Baselines => new HistoryBaselineRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetDouble(3), r.GetInt64(4), r.GetInt64(5)),
                _ => new HistoryDeliveryRow(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), NullableString(r, 4)),
            });
        }

        return rows;
    });

    /// <summary>A statement prepared on SQLite's own API; disposed by its owner before the connection closes.</summary>
    public static sqlite3_stmt Prepare(sqlite3 db, string sql)
    {
        var rc = raw.sqlite3_prepare_v2(db, sql, out var stmt);
        if (rc != raw.SQLITE_OK)
        {
            stmt.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        return stmt;
    }

    /// <summary>Closes the connection (the import finalizes its own statements first).</summary>
    public void Dispose() => connection.Dispose();

    /// <summary>The series' id in this file, or null when it has none.</summary>
    /// <param name="transaction">The transaction open on the connection, if one is.</param>
    public long? SeriesId(string source, string signal, SqliteTransaction? transaction = null)
    {
        if (_series.TryGetValue((source, signal), out var id))
        {
            return id;
        }

        using var cmd = Command("SELECT id FROM series WHERE source = $source AND signal = $signal;", transaction);
        cmd.Parameters.AddWithValue("$source", source);
        cmd.Parameters.AddWithValue("$signal", signal);
        if (cmd.ExecuteScalar() is long found)
        {
            _series[(source, signal)] = found;
            return found;
        }

        return null;
    }

    /// <summary>Remembers the id of a series just created.</summary>
    public void Remember(string source, string signal, long id) => _series[(source, signal)] = id;

    /// <summary>Forgets the series ids read so far (after a rolled-back transaction that may have created one).</summary>
    public void ForgetSeries() => _series.Clear();

    public static string TableOf(HistoryTable table) => HistoryStreamId.TableName(table);

    public SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = transaction;
        return cmd;
    }

    private static string? NullableString(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static double? NullableDouble(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDouble(i);
}
