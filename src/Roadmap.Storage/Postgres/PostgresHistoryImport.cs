using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Roadmap.Storage.Copy;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// A PostgreSQL database as the destination of a copy (<see cref="IHistoryImport"/>): opened and migrated like the
/// service's own (<see cref="PostgresStorage.Open"/>), on one connection, each batch one transaction. All SQL of these
/// writes is here.
/// </summary>
/// <remarks>
/// Samples, rollups, polls and evaluations go in by binary COPY into the partitioned table, the partitions of the
/// batch's days or months created first in the same transaction; chunks by binary COPY into their table (not
/// partitioned). COPY cannot skip a row already stored, so for samples, chunks and rollups it runs under a savepoint:
/// on a duplicate key the batch is copied into a temporary table instead and moved over with
/// <c>ON CONFLICT DO NOTHING</c> (a resumed copy never gives a stored row again, so that path is rare).
/// A copied poll's node is <see cref="CopiedNode"/> (numbered past the first of a source's millisecond, since the
/// node is part of the poll's key) and its scheduled time null: SQLite records neither.
/// </remarks>
internal sealed class PostgresHistoryImport : IHistoryImport
{
    /// <summary>The node recorded for a copied poll: it was run by a process this database never saw.</summary>
    public const string CopiedNode = "copied";

    private const string UniqueViolation = "23505";

    private readonly PostgresStorage _storage;
    private readonly PostgresHistoryReader _reader;
    private readonly List<string> _created = [];
    private bool _stagingReady;

    private PostgresHistoryImport(PostgresStorage storage, NpgsqlConnection connection)
    {
        _storage = storage;
        _reader = new PostgresHistoryReader(connection);
    }

    public string Location => _storage.Location;

    /// <exception cref="StorageException">No connection string, the server unreachable or refusing the login, a
    /// database that is not Roadmap's or of a newer schema; the message never quotes the connection string.</exception>
    public static PostgresHistoryImport Open(StorageOptions destination, TimeProvider? time = null)
    {
        var storage = PostgresStorage.Open(destination, time);
        try
        {
            var connection = PostgresFailures.Run(storage.OpenConnection);
            return new PostgresHistoryImport(storage, connection);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    public IReadOnlyList<HistoryStreamId> Streams(HistoryTable table) => _reader.Streams(table);

    public long Count(HistoryTable table) => _reader.Count(table);

    public IReadOnlyList<HistoryRow> Read(HistoryStreamId stream, StreamPosition after, int limit) => _reader.Read(stream, after, limit);

    public void Insert(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            if (!Fits(stream.Table, row))
            {
                throw new ArgumentException($"a {row.GetType().Name} is not a row of {stream}", nameof(rows));
            }
        }

        _created.Clear();
        try
        {
            PostgresFailures.Run(() =>
            {
                EnsureStaging();
                using var tx = _reader.Connection.BeginTransaction();
                switch (stream.Table)
                {
                    case HistoryTable.Samples:
                        InsertSamples(SeriesId(stream, tx), rows, tx);
                        break;
                    case HistoryTable.Chunks:
                        InsertChunks(SeriesId(stream, tx), rows, tx);
                        break;
                    case HistoryTable.RollupsHour:
                    case HistoryTable.RollupsDay:
                        InsertRollups(stream.Table, SeriesId(stream, tx), rows, tx);
                        break;
                    case HistoryTable.Polls:
                        InsertPolls(stream.Name, rows, tx);
                        break;
                    case HistoryTable.Evaluations:
                        InsertEvaluations(stream, rows, tx);
                        break;
                    default:
                        InsertKeyed(stream, rows, tx);
                        break;
                }

                tx.Commit();
            });
            _storage.Partitions.Committed(_created);
        }
        catch (StorageException)
        {
            // The transaction is rolled back: a series or a partition it created is gone with it.
            _reader.ForgetSeries();
            _created.Clear();
            throw;
        }
    }

    private static bool Fits(HistoryTable table, HistoryRow row) => table switch
    {
        HistoryTable.Samples => row is HistorySampleRow,
        HistoryTable.Chunks => row is HistoryChunkRow,
        HistoryTable.RollupsHour or HistoryTable.RollupsDay => row is HistoryRollupRow,
        HistoryTable.Polls => row is HistoryPollRow,
        HistoryTable.Evaluations => row is HistoryEvaluationRow,
        HistoryTable.Baselines => row is HistoryBaselineRow,
        _ => row is HistoryDeliveryRow,
    };

    /// <summary>The temporary tables a batch that meets stored rows goes through; made once per connection, outside any batch.</summary>
    private void EnsureStaging()
    {
        if (_stagingReady)
        {
            return;
        }

        using var cmd = _reader.Command(
            """
            CREATE TEMP TABLE IF NOT EXISTS copy_samples (LIKE samples);
            CREATE TEMP TABLE IF NOT EXISTS copy_rollups (LIKE rollups_hour);
            CREATE TEMP TABLE IF NOT EXISTS copy_chunks (LIKE chunks);
            """);
        cmd.ExecuteNonQuery();
        _stagingReady = true;
    }

    private long SeriesId(HistoryStreamId stream, NpgsqlTransaction tx)
    {
        if (_reader.SeriesId(stream.Name, stream.Part, tx) is { } id)
        {
            return id;
        }

        using var create = _reader.Command("INSERT INTO series (source, signal) VALUES ($1, $2) ON CONFLICT (source, signal) DO NOTHING RETURNING id;", tx);
        create.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Name });
        create.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Part });
        if (create.ExecuteScalar() is long created)
        {
            _reader.Remember(stream.Name, stream.Part, created);
            return created;
        }

        // Another process created it since the look-up: read it back.
        return _reader.SeriesId(stream.Name, stream.Part, tx) ?? throw new InvalidOperationException($"series {stream.Name}/{stream.Part} vanished");
    }

    private void InsertSamples(long series, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx)
    {
        EnsurePartitions(PartitionedTable.Samples, rows, tx);
        CopySkippingStored(
            "samples",
            "copy_samples",
            "series_id, ts, value",
            "series_id, ts",
            w =>
            {
                foreach (var row in rows)
                {
                    var s = (HistorySampleRow)row;
                    w.StartRow();
                    w.Write(series, NpgsqlDbType.Bigint);
                    w.Write(s.Ts, NpgsqlDbType.Bigint);
                    w.Write(s.Value, NpgsqlDbType.Double);
                }
            },
            tx);
    }

    /// <summary>Chunks as given, their bytes and columns unchanged (the chunks table is not partitioned).</summary>
    private void InsertChunks(long series, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx) =>
        CopySkippingStored(
            "chunks",
            "copy_chunks",
            "series_id, start_ts, end_ts, count, min_ts, max_ts, data",
            "series_id, start_ts",
            w =>
            {
                foreach (var row in rows)
                {
                    var c = (HistoryChunkRow)row;
                    w.StartRow();
                    w.Write(series, NpgsqlDbType.Bigint);
                    w.Write(c.StartTs, NpgsqlDbType.Bigint);
                    w.Write(c.EndTs, NpgsqlDbType.Bigint);
                    w.Write(c.Count, NpgsqlDbType.Bigint);
                    w.Write(c.MinTs, NpgsqlDbType.Bigint);
                    w.Write(c.MaxTs, NpgsqlDbType.Bigint);
                    w.Write(c.Data.ToArray(), NpgsqlDbType.Bytea);
                }
            },
            tx);

    private void InsertRollups(HistoryTable table, long series, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx)
    {
        EnsurePartitions(table == HistoryTable.RollupsHour ? PartitionedTable.RollupsHour : PartitionedTable.RollupsDay, rows, tx);
        CopySkippingStored(
            PostgresHistoryReader.TableOf(table),
            "copy_rollups",
            $"series_id, start_ts, {PostgresRows.RollupColumns}",
            "series_id, start_ts",
            w =>
            {
                foreach (var row in rows)
                {
                    var r = (HistoryRollupRow)row;
                    PostgresRows.WriteRollup(w, series, r.StartTs, r.Count, r.Sum, r.Min, r.Max, r.FirstTs, r.FirstValue, r.LastTs, r.LastValue, r.Increase, r.Sketch.ToArray());
                }
            },
            tx);
    }

    /// <summary>
    /// Binary COPY of the rows into <paramref name="table"/> under a savepoint; where one is stored already, the same
    /// rows through <paramref name="staging"/> instead, those already stored left as they are.
    /// </summary>
    private void CopySkippingStored(string table, string staging, string columns, string key, Action<NpgsqlBinaryImporter> write, NpgsqlTransaction tx)
    {
        tx.Save("copy");
        try
        {
            Copy($"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)", write);
            tx.Release("copy");
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation)
        {
            tx.Rollback("copy");
            using (var truncate = _reader.Command($"TRUNCATE {staging};", tx))
            {
                truncate.ExecuteNonQuery();
            }

            Copy($"COPY {staging} ({columns}) FROM STDIN (FORMAT BINARY)", write);
            using var move = _reader.Command($"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT ({key}) DO NOTHING;", tx);
            move.ExecuteNonQuery();
        }
    }

    private void Copy(string sql, Action<NpgsqlBinaryImporter> write)
    {
        using var importer = _reader.Connection.BeginBinaryImport(sql);
        write(importer);
        importer.Complete();
    }

    /// <summary>
    /// Polls by COPY. The node is part of a poll's key, and a source may have polled twice in one millisecond: the
    /// rows of a millisecond are numbered after those stored there already (<c>copied</c>, <c>copied#2</c>, ...).
    /// </summary>
    private void InsertPolls(string source, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx)
    {
        EnsurePartitions(PartitionedTable.Polls, rows, tx);
        var stored = new Dictionary<long, long>();
        using (var cmd = _reader.Command("SELECT ts, count(*) FROM polls WHERE source = $1 AND ts = ANY($2) GROUP BY ts;", tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. rows.Select(r => r.Key).Distinct()] });
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                stored[r.GetInt64(0)] = r.GetInt64(1);
            }
        }

        Copy(
            "COPY polls (source, ts, scheduled_ts, node, duration_ms, outcome, reason) FROM STDIN (FORMAT BINARY)",
            w =>
            {
                foreach (var row in rows)
                {
                    var p = (HistoryPollRow)row;
                    var n = stored.GetValueOrDefault(p.Ts) + 1;
                    stored[p.Ts] = n;
                    w.StartRow();
                    w.Write(source, NpgsqlDbType.Text);
                    w.Write(p.Ts, NpgsqlDbType.Bigint);
                    w.WriteNull();
                    w.Write(n == 1 ? CopiedNode : string.Create(CultureInfo.InvariantCulture, $"{CopiedNode}#{n}"), NpgsqlDbType.Text);
                    w.Write(p.DurationMs, NpgsqlDbType.Double);
                    w.Write(p.Outcome, NpgsqlDbType.Text);
                    if (p.Reason is null)
                    {
                        w.WriteNull();
                    }
                    else
                    {
                        w.Write(p.Reason, NpgsqlDbType.Text);
                    }
                }
            });
    }

    /// <summary>Evaluations by COPY; each gets the next id of the destination's sequence, so they keep their order.</summary>
    private void InsertEvaluations(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx)
    {
        EnsurePartitions(PartitionedTable.Evaluations, rows, tx);
        Copy(
            "COPY evaluations (initiative, kpi, ts, value, target, status, rules) FROM STDIN (FORMAT BINARY)",
            w =>
            {
                foreach (var row in rows)
                {
                    var e = (HistoryEvaluationRow)row;
                    w.StartRow();
                    w.Write(stream.Name, NpgsqlDbType.Text);
                    w.Write(stream.Part, NpgsqlDbType.Text);
                    w.Write(e.Ts, NpgsqlDbType.Bigint);
                    WriteNullable(w, e.Value);
                    WriteNullable(w, e.Target);
                    w.Write(e.Status, NpgsqlDbType.Text);
                    w.Write(checked((int)e.Rules), NpgsqlDbType.Integer);
                }
            });
    }

    private static void WriteNullable(NpgsqlBinaryImporter w, double? value)
    {
        if (value is { } v)
        {
            w.Write(v, NpgsqlDbType.Double);
        }
        else
        {
            w.WriteNull();
        }
    }

    /// <summary>Baselines and deliveries: few rows, each inserted unless its key is stored.</summary>
    private void InsertKeyed(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx)
    {
        var baselines = stream.Table == HistoryTable.Baselines;
        using var cmd = _reader.Command(
            baselines
                ? "INSERT INTO baselines (initiative, kpi, from_date, to_date, definition, value, samples, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING;"
                : "INSERT INTO update_deliveries (name, fire_ts, ended_ts, outcome, attempts, blocked) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING;",
            tx);
        foreach (var row in rows)
        {
            cmd.Parameters.Clear();
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Name });
            if (row is HistoryBaselineRow b)
            {
                cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stream.Part });
                cmd.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = ParseDate(b.FromDate) });
                cmd.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = ParseDate(b.ToDate) });
                cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = b.Definition });
                cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = b.Value });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = b.Samples });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = b.ComputedAt });
            }
            else
            {
                var d = (HistoryDeliveryRow)row;
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = d.FireTs });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = d.EndedTs });
                cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = d.Outcome });
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = d.Attempts });
                // SQLite's comma-separated list; an empty string is an empty list (a success with nothing blocked).
                cmd.Parameters.Add(new NpgsqlParameter<string[]?> { TypedValue = d.Blocked?.Split(',', StringSplitOptions.RemoveEmptyEntries) });
            }

            cmd.ExecuteNonQuery();
        }
    }

    /// <exception cref="FormatException">Not YYYY-MM-DD (a corrupt row: reported as the store's failure).</exception>
    private static DateOnly ParseDate(string date) => DateOnly.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private void EnsurePartitions(PartitionedTable table, IReadOnlyList<HistoryRow> rows, NpgsqlTransaction tx)
    {
        var starts = new List<long>();
        foreach (var row in rows)
        {
            var start = table.StartOf(row.Key);
            if (starts.Count == 0 || starts[^1] != start)
            {
                starts.Add(start);
            }
        }

        _storage.Partitions.Ensure(_reader.Connection, tx, table, starts.Distinct(), _created);
    }

    public void Dispose()
    {
        _reader.Dispose();
        _storage.Dispose();
    }
}
