using System.Globalization;
using Npgsql;
using Roadmap.Storage.Chunks;
using Roadmap.Storage.Copy;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The reads of a copy between stores on one PostgreSQL connection: a table's streams, its count, a stream's page, in
/// the same shapes as SQLite's (<see cref="IHistoryExport"/>). All SQL of these reads is here.
/// </summary>
/// <remarks>
/// Rows that share a key come in an order the table's own columns fix, the same on every read while nothing writes:
/// polls by node (unique within a source's millisecond), evaluations by their id sequence, baselines by their key.
/// </remarks>
internal sealed class PostgresHistoryReader(NpgsqlConnection connection) : IDisposable
{
    private const string RollupColumns = "start_ts, " + PostgresRows.RollupColumns;

    // (source, signal) -> series id in this database. Cleared by the import when a transaction that created one fails.
    private readonly Dictionary<(string Source, string Signal), long> _series = [];

    public NpgsqlConnection Connection => connection;

    public IReadOnlyList<HistoryStreamId> Streams(HistoryTable table) => PostgresFailures.Run(() =>
    {
        var series = HistoryStreamId.OfSeries(table);
        var sql = table switch
        {
            _ when series => $"SELECT source, signal, id FROM series s WHERE EXISTS (SELECT 1 FROM {TableOf(table)} WHERE series_id = s.id);",
            HistoryTable.Polls => "SELECT DISTINCT source, '', 0::bigint FROM polls;",
            HistoryTable.Evaluations => "SELECT DISTINCT initiative, kpi, 0::bigint FROM evaluations;",
            HistoryTable.Baselines => "SELECT DISTINCT initiative, kpi, 0::bigint FROM baselines;",
            _ => "SELECT DISTINCT name, '', 0::bigint FROM update_deliveries;",
        };
        var streams = new List<HistoryStreamId>();
        using var cmd = Command(sql);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            streams.Add(new HistoryStreamId(table, r.GetString(0), r.GetString(1)));
            if (series)
            {
                _series[(r.GetString(0), r.GetString(1))] = r.GetInt64(2);
            }
        }

        return streams;
    });

    public long Count(HistoryTable table) => PostgresFailures.Run(() =>
    {
        using var cmd = Command($"SELECT count(*) FROM {TableOf(table)};");
        return (long)cmd.ExecuteScalar()!;
    });

    public IReadOnlyList<HistoryRow> Read(HistoryStreamId stream, StreamPosition after, int limit) => PostgresFailures.Run(() =>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var table = stream.Table;
        var rows = new List<HistoryRow>(Math.Min(limit, 4096));
        var sql = table switch
        {
            HistoryTable.Samples => "SELECT ts, value FROM samples WHERE series_id = $1 AND ts >= $2 ORDER BY ts",
            // A chunk's bytes are sent only when a chunk can be that long: a damaged length costs nothing.
            HistoryTable.Chunks =>
                "SELECT start_ts, end_ts, count, min_ts, max_ts, octet_length(data)::bigint, CASE WHEN octet_length(data) <= $5 THEN data END FROM chunks WHERE series_id = $1 AND start_ts >= $2 ORDER BY start_ts",
            HistoryTable.RollupsHour or HistoryTable.RollupsDay =>
                $"SELECT {RollupColumns} FROM {TableOf(table)} WHERE series_id = $1 AND start_ts >= $2 ORDER BY start_ts",
            HistoryTable.Polls => "SELECT ts, duration_ms, outcome, reason FROM polls WHERE source = $1 AND ts >= $2 ORDER BY ts, node",
            HistoryTable.Evaluations =>
                "SELECT ts, value, target, status, rules FROM evaluations WHERE initiative = $1 AND ts >= $2 AND kpi = $5 ORDER BY ts, id",
            HistoryTable.Baselines =>
                "SELECT from_date, to_date, definition, value, samples, computed_at FROM baselines WHERE initiative = $1 AND computed_at >= $2 AND kpi = $5 ORDER BY computed_at, from_date, to_date, definition",
            _ => "SELECT fire_ts, ended_ts, outcome, attempts, blocked FROM update_deliveries WHERE name = $1 AND fire_ts >= $2 ORDER BY fire_ts",
        };
        using var cmd = Command(sql + " LIMIT $3 OFFSET $4;");
        if (HistoryStreamId.OfSeries(table))
        {
            if (SeriesId(stream.Name, stream.Part) is not { } id)
            {
                return rows;
            }

            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        }
        else
        {
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Name });
        }

        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after.Key });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = limit });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after.RowsAtKey });
        if (table is HistoryTable.Evaluations or HistoryTable.Baselines)
        {
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Part });
        }
        else if (table == HistoryTable.Chunks)
        {
            cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = ChunkCodec.MaxBytes });
        }

        using var r = cmd.ExecuteReader();
        long bytes = 0;
        while (bytes < HistoryChunkRow.PageBytes && r.Read())
        {
            rows.Add(table switch
            {
                HistoryTable.Samples => new HistorySampleRow(r.GetInt64(0), r.GetDouble(1)),
                HistoryTable.Chunks => HistoryChunkRow.Read(stream, r, ref bytes),
                HistoryTable.RollupsHour or HistoryTable.RollupsDay => new HistoryRollupRow(
                    r.GetInt64(0), r.GetInt64(1), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4), r.GetInt64(5), r.GetDouble(6),
                    r.GetInt64(7), r.GetDouble(8), r.GetDouble(9), r.GetFieldValue<byte[]>(10)),
                HistoryTable.Polls => new HistoryPollRow(r.GetInt64(0), r.GetDouble(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)),
                HistoryTable.Evaluations => new HistoryEvaluationRow(
                    r.GetInt64(0), r.IsDBNull(1) ? null : r.GetDouble(1), r.IsDBNull(2) ? null : r.GetDouble(2), r.GetString(3), r.GetInt32(4)),
                HistoryTable.Baselines => new HistoryBaselineRow(
                    Date(r.GetFieldValue<DateOnly>(0)), Date(r.GetFieldValue<DateOnly>(1)), r.GetString(2), r.GetDouble(3), r.GetInt64(4), r.GetInt64(5)),
                // SQLite holds the blocked initiatives comma-separated (an empty list as an empty string): the same here.
                _ => new HistoryDeliveryRow(
                    r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.IsDBNull(4) ? null : string.Join(",", r.GetFieldValue<string[]>(4))),
            });
        }

        return rows;
    });

    /// <summary>A baseline's date as SQLite holds it: YYYY-MM-DD.</summary>
    public static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The series' id in this database, or null when it has none.</summary>
    /// <param name="transaction">The transaction open on the connection, if one is.</param>
    public long? SeriesId(string source, string signal, NpgsqlTransaction? transaction = null)
    {
        if (_series.TryGetValue((source, signal), out var id))
        {
            return id;
        }

        using var cmd = Command("SELECT id FROM series WHERE source = $1 AND signal = $2;", transaction);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = signal });
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

    public NpgsqlCommand Command(string sql, NpgsqlTransaction? transaction = null) => new(sql, connection, transaction);

    public void Dispose() => connection.Dispose();
}
