using Microsoft.Data.Sqlite;
using Roadmap.Storage.Copy;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// A SQLite file as the destination of a copy (<see cref="IHistoryImport"/>): created and migrated like the service's
/// own (<see cref="RoadmapDatabase.Open"/>), each batch one transaction. All SQL of these writes is here.
/// </summary>
internal sealed class SqliteHistoryImport : IHistoryImport
{
    private readonly SqliteHistoryReader _reader;
    // Samples and rollups go through SQLite's own API (inside the transaction Microsoft.Data.Sqlite began on the same connection):
    // binding through it boxes every value, and they are nearly every row of a copy.
    private HotRowWriter? _hotRows;
    private sqlite3_stmt? _rollupsHour;
    private sqlite3_stmt? _rollupsDay;
    private sqlite3_stmt? _chunks;

    private SqliteHistoryImport(string path, SqliteConnection connection)
    {
        Location = path;
        _reader = new SqliteHistoryReader(connection);
    }

    public string Location { get; }

    /// <param name="path">The destination file; created (and its folder) if missing.</param>
    /// <param name="source">The source's location: the same file (by path, or by device and inode through a link) is refused.</param>
    /// <exception cref="StorageException">The source itself, an existing file that is not a Roadmap database, or a file
    /// that cannot be opened or migrated; nothing was changed.</exception>
    public static SqliteHistoryImport Open(string path, string source)
    {
        var full = Path.GetFullPath(path);
        if (SameFile(full, source))
        {
            throw new StorageException($"the destination {full} is the source itself; copy into another file");
        }

        // An existing file is migrated only if it is Roadmap's: another program's database gets no tables of ours.
        if (File.Exists(full) && new FileInfo(full).Length > 0)
        {
            SqliteHistoryExport.ProbeSchemaVersion(full);
        }

        var database = RoadmapDatabase.Open(full);
        return SqliteFailures.Run(() =>
        {
            var connection = database.OpenConnection();
            using var pragma = connection.CreateCommand();
            // A bigger page cache than a reader's: batches append to many series' ranges.
            pragma.CommandText = "PRAGMA cache_size=-65536;";
            pragma.ExecuteNonQuery();
            return new SqliteHistoryImport(full, connection);
        });
    }

    private static bool SameFile(string a, string b)
    {
        if (string.Equals(a, Path.GetFullPath(b), StringComparison.Ordinal))
        {
            return true;
        }

        return FileIdentity.Read(a, out var x) == FileIdentityRead.Found
            && FileIdentity.Read(b, out var y) == FileIdentityRead.Found
            && x == y;
    }

    public IReadOnlyList<HistoryStreamId> Streams(HistoryTable table) => _reader.Streams(table);

    public long Count(HistoryTable table) => _reader.Count(table);

    public IReadOnlyList<HistoryRow> Read(HistoryStreamId stream, StreamPosition after, int limit) => _reader.Read(stream, after, limit);

    public void Insert(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(rows);
        try
        {
            using var tx = _reader.Connection.BeginTransaction();
            switch (stream.Table)
            {
                case HistoryTable.Samples:
                    InsertSamples(SeriesId(stream, tx), rows, tx);
                    break;
                case HistoryTable.Chunks:
                    InsertChunks(SeriesId(stream, tx), rows);
                    break;
                case HistoryTable.RollupsHour:
                case HistoryTable.RollupsDay:
                    InsertRollups(stream.Table, SeriesId(stream, tx), rows);
                    break;
                default:
                    InsertOthers(stream, rows, tx);
                    break;
            }

            tx.Commit();
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            // The transaction is rolled back: a series it created is gone with it.
            _reader.ForgetSeries();
            throw SqliteFailures.Wrap(e);
        }
    }

    private long SeriesId(HistoryStreamId stream, SqliteTransaction tx)
    {
        if (_reader.SeriesId(stream.Name, stream.Part, tx) is { } id)
        {
            return id;
        }

        // The writer's own statement: a series of a source that has others gets their source key (SamplesTable).
        using var create = _reader.Command(SeriesTable.CreateRaw.Replace("?", "$p", StringComparison.Ordinal), tx);
        create.Parameters.AddWithValue("$p1", stream.Name);
        create.Parameters.AddWithValue("$p2", stream.Part);
        var created = (long)create.ExecuteScalar()!;
        _reader.Remember(stream.Name, stream.Part, created);
        return created;
    }

    /// <summary>
    /// One series' samples (in ts order, as streams are read) into the hot rows of its source key
    /// (<see cref="HotRowWriter"/>); a sample at a ts where the series has one is left out, as is any row stored.
    /// </summary>
    private void InsertSamples(long series, IReadOnlyList<HistoryRow> rows, SqliteTransaction tx)
    {
        _hotRows ??= new HotRowWriter(_reader.Connection.Handle!);
        using var find = _reader.Command($"SELECT {SeriesTable.SourceKeyOf1.Replace("?1", "$p1", StringComparison.Ordinal)};", tx);
        find.Parameters.AddWithValue("$p1", series);
        var key = (long)find.ExecuteScalar()!;
        foreach (var row in rows.Cast<HistorySampleRow>())
        {
            _hotRows.Add(key, row.Ts, series, row.Value);
        }

        _hotRows.Flush(incomingWins: false);
    }

    private void InsertRollups(HistoryTable table, long series, IReadOnlyList<HistoryRow> rows)
    {
        var db = _reader.Connection.Handle!;
        var stmt = table == HistoryTable.RollupsHour
            ? _rollupsHour ??= SqliteHistoryReader.Prepare(db, RollupsSql(table))
            : _rollupsDay ??= SqliteHistoryReader.Prepare(db, RollupsSql(table));
        foreach (var row in rows.Cast<HistoryRollupRow>())
        {
            raw.sqlite3_bind_int64(stmt, 1, series);
            raw.sqlite3_bind_int64(stmt, 2, row.StartTs);
            raw.sqlite3_bind_int64(stmt, 3, row.Count);
            raw.sqlite3_bind_double(stmt, 4, row.Sum);
            raw.sqlite3_bind_double(stmt, 5, row.Min);
            raw.sqlite3_bind_double(stmt, 6, row.Max);
            raw.sqlite3_bind_int64(stmt, 7, row.FirstTs);
            raw.sqlite3_bind_double(stmt, 8, row.FirstValue);
            raw.sqlite3_bind_int64(stmt, 9, row.LastTs);
            raw.sqlite3_bind_double(stmt, 10, row.LastValue);
            raw.sqlite3_bind_double(stmt, 11, row.Increase);
            raw.sqlite3_bind_blob(stmt, 12, row.Sketch.Span);
            Step(db, stmt);
        }
    }

    /// <summary>Chunks as given, their bytes and columns unchanged; one whose (series, start) is stored is left as it is.</summary>
    private void InsertChunks(long series, IReadOnlyList<HistoryRow> rows)
    {
        var db = _reader.Connection.Handle!;
        var stmt = _chunks ??= SqliteHistoryReader.Prepare(
            db, "INSERT OR IGNORE INTO chunks (series_id, start_ts, end_ts, count, min_ts, max_ts, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7);");
        foreach (var row in rows.Cast<HistoryChunkRow>())
        {
            raw.sqlite3_bind_int64(stmt, 1, series);
            raw.sqlite3_bind_int64(stmt, 2, row.StartTs);
            raw.sqlite3_bind_int64(stmt, 3, row.EndTs);
            raw.sqlite3_bind_int64(stmt, 4, row.Count);
            raw.sqlite3_bind_int64(stmt, 5, row.MinTs);
            raw.sqlite3_bind_int64(stmt, 6, row.MaxTs);
            raw.sqlite3_bind_blob(stmt, 7, row.Data.Span);
            Step(db, stmt);
        }
    }

    private static string RollupsSql(HistoryTable table) =>
        $"INSERT OR IGNORE INTO {SqliteHistoryReader.TableOf(table)} (series_id, start_ts, count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch) "
        + "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12);";

    private static void Step(sqlite3 db, sqlite3_stmt stmt)
    {
        var rc = raw.sqlite3_step(stmt);
        raw.sqlite3_reset(stmt);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private void InsertOthers(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows, SqliteTransaction tx)
    {
        using var cmd = _reader.Command(
            stream.Table switch
            {
                HistoryTable.Polls => "INSERT INTO polls (source, ts, duration_ms, outcome, reason) VALUES ($a, $ts, $duration, $outcome, $reason);",
                HistoryTable.Evaluations => "INSERT INTO evaluations (initiative, kpi, ts, value, target, status, rules) VALUES ($a, $b, $ts, $value, $target, $status, $rules);",
                HistoryTable.Baselines => "INSERT OR IGNORE INTO baselines (initiative, kpi, from_date, to_date, definition, value, samples, computed_at) VALUES ($a, $b, $from, $to, $definition, $value, $samples, $at);",
                _ => "INSERT OR IGNORE INTO update_deliveries (name, fire_ts, ended_ts, outcome, attempts, blocked) VALUES ($a, $fire, $ended, $outcome, $attempts, $blocked);",
            },
            tx);
        foreach (var row in rows)
        {
            switch (row)
            {
                case HistoryPollRow p:
                    Set(cmd, ("$a", stream.Name), ("$ts", p.Ts), ("$duration", p.DurationMs), ("$outcome", p.Outcome), ("$reason", p.Reason));
                    break;
                case HistoryEvaluationRow e:
                    Set(cmd, ("$a", stream.Name), ("$b", stream.Part), ("$ts", e.Ts), ("$value", e.Value), ("$target", e.Target), ("$status", e.Status), ("$rules", e.Rules));
                    break;
                case HistoryBaselineRow b:
                    Set(cmd, ("$a", stream.Name), ("$b", stream.Part), ("$from", b.FromDate), ("$to", b.ToDate), ("$definition", b.Definition),
                        ("$value", b.Value), ("$samples", b.Samples), ("$at", b.ComputedAt));
                    break;
                case HistoryDeliveryRow d:
                    Set(cmd, ("$a", stream.Name), ("$fire", d.FireTs), ("$ended", d.EndedTs), ("$outcome", d.Outcome), ("$attempts", d.Attempts), ("$blocked", d.Blocked));
                    break;
                default:
                    throw new ArgumentException($"a {row.GetType().Name} is not a row of {stream}", nameof(rows));
            }
        }
    }

    private static void Set(SqliteCommand cmd, params (string Name, object? Value)[] values)
    {
        cmd.Parameters.Clear();
        foreach (var (name, value) in values)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _hotRows?.Dispose();
        _rollupsHour?.Dispose();
        _rollupsDay?.Dispose();
        _chunks?.Dispose();
        _reader.Dispose();
    }
}
