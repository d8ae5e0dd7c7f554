using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// The SQLite half of the writer: one connection, and every statement of a batch's transaction on SQLite's own API.
/// The statements are prepared once per connection and reused by every batch. One API inside the transaction, not
/// three: Microsoft.Data.Sqlite does not know of a transaction begun through the raw API, and mixing its commands (or
/// Dapper's) into one worked only because each was told there was none.
/// </summary>
internal sealed class SqliteWriteSession : IStorageWriteSession
{
    private readonly RoadmapDatabase _database;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly Retention _retention;
    private readonly Compactor _compactor;

    /// <summary>Series id to source key, for the series this session has stored samples of.</summary>
    private readonly Dictionary<long, long> _sourceKeys = [];

    /// <summary>The last batch's rows in key order (<see cref="InKeyOrder"/>), kept for the next.</summary>
    private KeyedSample[] _keyed = [];

    private SqliteConnection _connection;
    private Statements? _statements;
    private SqliteChunks? _chunks;
    private HotRowWriter? _hotRows;
    private DatabaseFileLoss? _loss;
    private bool _open;

    public SqliteWriteSession(RoadmapDatabase database, StorageOptions options, TimeProvider time)
    {
        _database = database;
        _options = options;
        _time = time;
        _retention = new Retention(options, time);
        _compactor = new Compactor(options, time);
        _connection = SqliteFailures.Run(Open);
    }

    private sqlite3 Db => _connection.Handle!;

    private Statements S => _statements ??= new Statements(Db);

    private SqliteChunks Samples => _chunks ??= new SqliteChunks(Db);

    private HotRowWriter HotRows => _hotRows ??= new HotRowWriter(Db);

    /// <summary>
    /// Pages this connection has had to read into its page cache since it opened (SQLite's
    /// <c>SQLITE_DBSTATUS_CACHE_MISS</c>): what a commit by another connection costs the writer
    /// (<see cref="AppendEvaluations"/>).
    /// </summary>
    internal int CacheMisses => raw.sqlite3_db_status(Db, raw.SQLITE_DBSTATUS_CACHE_MISS, out var misses, out _, 0) == raw.SQLITE_OK ? misses : -1;

    public void Begin()
    {
        try
        {
            // BEGIN IMMEDIATE: the lock is taken up front (no upgrade deadlock) and only busy_timeout waits, not the
            // ADO.NET command timeout on top of it.
            Check(raw.sqlite3_exec(Db, "BEGIN IMMEDIATE;"), Db);
            _open = true;
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public void Commit()
    {
        try
        {
            Check(raw.sqlite3_exec(Db, "COMMIT;"), Db);
            _open = false;
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public void Rollback()
    {
        if (_open)
        {
            raw.sqlite3_exec(Db, "ROLLBACK;");
            _open = false;
        }

        // A series created in the rolled-back transaction does not exist, and its id may be given to another.
        _sourceKeys.Clear();
    }

    public void InsertPolls(ReadOnlySpan<PollRow> polls)
    {
        try
        {
            var insert = S.InsertPoll;
            foreach (ref readonly var poll in polls)
            {
                raw.sqlite3_bind_text(insert, 1, poll.Source);
                raw.sqlite3_bind_int64(insert, 2, poll.TimestampMs);
                raw.sqlite3_bind_double(insert, 3, poll.DurationSeconds * 1000);
                raw.sqlite3_bind_text(insert, 4, poll.Success ? "success" : "failure");
                if (poll.Reason is null)
                {
                    raw.sqlite3_bind_null(insert, 5);
                }
                else
                {
                    raw.sqlite3_bind_text(insert, 5, poll.Reason);
                }

                Step(insert, Db);
            }
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public long SeriesId(string source, string signal)
    {
        try
        {
            var (id, key) = SeriesRow(S.FindSeries, source, signal) ?? SeriesRow(S.CreateSeries, source, signal)
                ?? throw new InvalidOperationException($"the series {source}:{signal} was neither found nor created");
            _sourceKeys[id] = key;
            return id;
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    /// <summary>
    /// Inserts the samples as hot rows (<see cref="SamplesTable"/>, <see cref="HotRowWriter"/>): the samples of one
    /// source key at one ts, usually a poll's, are one row, so a poll of an http source is one row, not nine. A row whose
    /// key and ts are stored (a late sample of a poll already written, a repeated batch) is merged into the stored one,
    /// this batch's values replacing those of the same series.
    /// </summary>
    public void InsertSamples(ReadOnlySpan<SeriesSample> rows)
    {
        try
        {
            var hot = HotRows;
            foreach (ref readonly var row in InKeyOrder(rows))
            {
                hot.Add(row.Key, row.Ts, row.Series, row.Value);
            }

            hot.Flush(incomingWins: true);
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public IReadOnlyList<Point> ReadSamples(long series, long fromMs, long toMs)
    {
        try
        {
            var points = new List<Point>();
            Samples.Read(series, fromMs, toMs + 1, points.Add);
            return points;
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public bool HasDayChunk(long series, long dayStartMs)
    {
        try
        {
            return Samples.HasDayChunk(series, dayStartMs);
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public SeriesSummary? ReadRollup(RollupLevel level, long series, long startMs)
    {
        try
        {
            var select = level == RollupLevel.Hour ? S.SelectHour : S.SelectDay;
            raw.sqlite3_bind_int64(select, 1, series);
            raw.sqlite3_bind_int64(select, 2, startMs);
            try
            {
                return Row(select, Db) ? RollupsTable.ReadRaw(select) : null;
            }
            finally
            {
                raw.sqlite3_reset(select);
            }
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public SeriesSummary CombineRollups(RollupLevel level, long series, long fromMs, long toMs)
    {
        try
        {
            var range = level == RollupLevel.Hour ? S.RangeHour : S.RangeDay;
            raw.sqlite3_bind_int64(range, 1, series);
            raw.sqlite3_bind_int64(range, 2, fromMs);
            raw.sqlite3_bind_int64(range, 3, toMs);
            var total = SeriesSummary.Empty();
            try
            {
                while (Row(range, Db))
                {
                    total.Append(RollupsTable.ReadRaw(range));
                }
            }
            finally
            {
                raw.sqlite3_reset(range);
            }

            return total;
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public void ClosedDaysChanged(IReadOnlyCollection<long> series)
    {
        try
        {
            foreach (var id in series)
            {
                raw.sqlite3_bind_int64(S.ClosedDaysChanged, 1, id);
                Step(S.ClosedDaysChanged, Db);
            }
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public void AppendEvaluations(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        try
        {
            // On the writer's own connection: a commit by another connection would make this one drop its whole page
            // cache at its next transaction (WAL mode), and refill it through malloc while the old pages are freed.
            SqliteEvaluationStore.Insert(_connection, null, evaluations);
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public void UpsertRollups(RollupLevel level, IReadOnlyList<RollupRow> rows)
    {
        try
        {
            var upsert = level == RollupLevel.Hour ? S.UpsertHour : S.UpsertDay;
            foreach (var row in rows)
            {
                RollupsTable.BindRaw(upsert, row.Series, row.StartMs, row.Summary);
                Step(upsert, Db);
            }
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public string? StoreLost()
    {
        _loss = _database.FileProblem();
        return _loss?.Message;
    }

    public string RecoverStore()
    {
        var loss = _loss ?? throw new InvalidOperationException("no loss to recover from: call StoreLost first");
        string outcome;
        try
        {
            outcome = _database.Recover(loss, _connection, _time);
        }
        catch (StorageException e)
        {
            throw new StorageException($"{loss.Message}; {e.Message}", e, StorageHealth.FileLost, "database file lost");
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }

        CloseConnection();
        _connection = SqliteFailures.Run(Open);
        _loss = null;
        return outcome;
    }

    public int Prune()
    {
        if (!_retention.Due)
        {
            return 0;
        }

        try
        {
            return _retention.Step(_connection);
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public CompactionStep Compact()
    {
        if (!_compactor.Due)
        {
            return default;
        }

        try
        {
            return _compactor.Step(Samples);
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public void Dispose()
    {
        Rollback();
        CloseConnection();
    }

    private void CloseConnection()
    {
        // Statements first: a connection closed with statements still prepared lingers as a zombie until they are.
        _statements?.Dispose();
        _statements = null;
        _chunks?.Dispose();
        _chunks = null;
        _hotRows?.Dispose();
        _hotRows = null;
        _sourceKeys.Clear(); // a recovered database has series rows of its own
        _connection.Dispose();
    }

    private SqliteConnection Open()
    {
        var connection = _database.OpenConnection();
        raw.sqlite3_busy_timeout(connection.Handle, (int)_options.BusyTimeout.TotalMilliseconds);
        // A batch touches the last pages of every series; with SQLite's default 2 MiB they are evicted (and spilled
        // mid-transaction) before the next batch comes back to them. The cache is resident memory once full, so it is
        // sized for that working set, not more: a larger cache costs the memory goal its size in RSS
        // (docs/PERFORMANCE.md, goal 6).
        raw.sqlite3_exec(connection.Handle, FormattableString.Invariant($"PRAGMA cache_size=-{_options.PageCacheBytes / 1024};"));
        // A statement that writes several rows inside the batch's transaction (64 samples a statement, a retention or
        // compaction delete) keeps a statement journal: the pages it changes, to undo it alone should it fail midway.
        // With SQLite's default that journal goes to a temporary file past 64 KiB, and every 64-row insert touches
        // 64 pages (one per series): at goal 6's load, 30-70 MB/s handed to write calls for a deleted file in /var/tmp
        // (truncated before it reached the disk), about half of the writer's write calls (docs/PERFORMANCE.md, "the
        // writer's disk writes"). In memory the journal holds at most the pages of one statement.
        raw.sqlite3_exec(connection.Handle, "PRAGMA temp_store=MEMORY;");
        return connection;
    }

    /// <summary>The value of <c>PRAGMA <paramref name="name"/></c> on the writer's connection (for tests).</summary>
    internal long PragmaValue(string name)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// The rows (sorted by series and ts, as the rollups want them) in the table's key order: (source key, ts, series),
    /// ties in their given order, so a later sample of a series at one ts still replaces an earlier one. In key order
    /// the inserts append to each key's range; in series order a batch holding many polls of a source (a backlog, an
    /// import) would insert each series' rows between those of the series before it, splitting pages.
    /// </summary>
    private ReadOnlySpan<KeyedSample> InKeyOrder(ReadOnlySpan<SeriesSample> rows)
    {
        if (_keyed.Length < rows.Length)
        {
            _keyed = new KeyedSample[Math.Max(rows.Length, _keyed.Length * 2)];
        }

        for (var i = 0; i < rows.Length; i++)
        {
            ref readonly var row = ref rows[i];
            _keyed[i] = new KeyedSample(SourceKey(row.Series), row.Ts, row.Series, row.Value, i);
        }

        var keyed = _keyed.AsSpan(0, rows.Length);
        keyed.Sort();
        return keyed;
    }

    /// <summary>Steps a statement of (?1 source, ?2 signal) that returns (id, source_key): the row, or null.</summary>
    private (long Id, long SourceKey)? SeriesRow(sqlite3_stmt stmt, string source, string signal)
    {
        raw.sqlite3_bind_text(stmt, 1, source);
        raw.sqlite3_bind_text(stmt, 2, signal);
        try
        {
            return Row(stmt, Db) ? (raw.sqlite3_column_int64(stmt, 0), raw.sqlite3_column_int64(stmt, 1)) : null;
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    /// <summary>
    /// The source key a series' samples are stored under (<see cref="SamplesTable"/>): known from <see cref="SeriesId"/>,
    /// else read from its row once (a writer that keeps its ids across sessions asks this session for none), else the
    /// series' own id, as the readers take it.
    /// </summary>
    private long SourceKey(long series)
    {
        if (_sourceKeys.TryGetValue(series, out var key))
        {
            return key;
        }

        var find = S.SourceKey;
        raw.sqlite3_bind_int64(find, 1, series);
        try
        {
            key = Row(find, Db) ? raw.sqlite3_column_int64(find, 0) : series;
        }
        finally
        {
            raw.sqlite3_reset(find);
        }

        _sourceKeys[series] = key;
        return key;
    }

    private static void Step(sqlite3_stmt stmt, sqlite3 db)
    {
        var rc = raw.sqlite3_step(stmt);
        raw.sqlite3_reset(stmt);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>Steps a query: true with a row to read, false when done.</summary>
    private static bool Row(sqlite3_stmt stmt, sqlite3 db)
    {
        var rc = raw.sqlite3_step(stmt);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        return false;
    }

    private static void Check(int rc, sqlite3 db)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>The prepared statements of one connection, each prepared when first used.</summary>
    private sealed class Statements(sqlite3 db) : IDisposable
    {
        private readonly List<sqlite3_stmt> _all = [];

        public sqlite3_stmt InsertPoll => field ??= Prepare(PollsTable.InsertRaw);

        public sqlite3_stmt FindSeries => field ??= Prepare(SeriesTable.FindRaw);

        public sqlite3_stmt CreateSeries => field ??= Prepare(SeriesTable.CreateRaw);

        public sqlite3_stmt SourceKey => field ??= Prepare(SeriesTable.SourceKeyRaw);

        public sqlite3_stmt ClosedDaysChanged => field ??= Prepare(SeriesTable.ClosedDaysChangedRaw);

        public sqlite3_stmt SelectHour => field ??= Prepare(RollupsTable.SelectOne(RollupLevel.Hour));

        public sqlite3_stmt SelectDay => field ??= Prepare(RollupsTable.SelectOne(RollupLevel.Day));

        public sqlite3_stmt RangeHour => field ??= Prepare(RollupsTable.SelectRange(RollupLevel.Hour));

        public sqlite3_stmt RangeDay => field ??= Prepare(RollupsTable.SelectRange(RollupLevel.Day));

        public sqlite3_stmt UpsertHour => field ??= Prepare(RollupsTable.Upsert(RollupLevel.Hour));

        public sqlite3_stmt UpsertDay => field ??= Prepare(RollupsTable.Upsert(RollupLevel.Day));

        public void Dispose()
        {
            foreach (var stmt in _all)
            {
                stmt.Dispose();
            }

            _all.Clear();
        }

        private sqlite3_stmt Prepare(string sql)
        {
            Check(raw.sqlite3_prepare_v2(db, sql, out var stmt), db);
            _all.Add(stmt);
            return stmt;
        }
    }

    /// <summary>A sample in the samples table's key order; <see cref="Order"/> breaks ties by the given order.</summary>
    private readonly record struct KeyedSample(long Key, long Ts, long Series, double Value, int Order) : IComparable<KeyedSample>
    {
        public int CompareTo(KeyedSample other)
        {
            var c = Key.CompareTo(other.Key);
            if (c == 0)
            {
                c = Ts.CompareTo(other.Ts);
            }

            if (c == 0)
            {
                c = Series.CompareTo(other.Series);
            }

            return c != 0 ? c : Order.CompareTo(other.Order);
        }
    }
}
