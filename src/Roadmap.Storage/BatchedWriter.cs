using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Evaluation;
using SQLitePCL;

namespace Roadmap.Storage;

/// <summary>
/// The one way samples reach the database. Polls queue in memory (bounded: when full, new polls are dropped and
/// counted, never blocking a poller) and are committed in batches: one transaction per flush interval, or as soon as
/// <see cref="StorageOptions.MaxBatchSamples"/> samples wait, never one per sample. Each batch is sorted by
/// (series, ts) and bound through the raw SQLite API: the samples table is clustered by that key, and sorted inserts
/// are what keeps 1,000 interleaved series fast. The hour and day rollups the batch touches are updated in memory per
/// sample and written in the same transaction. A failed commit keeps its batch and is retried with backoff until
/// the cause goes away (<see cref="Health"/> says why meanwhile). Between flushes, retention deletes old rows in small
/// steps. Disposing flushes what is queued.
/// </summary>
public sealed partial class BatchedWriter : IAsyncDisposable
{
    private readonly RoadmapDatabase _database;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<object> _queue;
    private readonly Dictionary<(string, string), long> _seriesIds = [];
    private readonly RollupCache _hours = new(RollupLevel.Hour);
    private readonly RollupCache _days = new(RollupLevel.Day);
    private readonly Retention _retention;
    private TaskCompletionSource _wake = NewSignal();
    private Task? _loop;
    private volatile bool _stopping;
    private long _pendingSamples;
    private long _samplesWritten;
    private long _pollsWritten;
    private long _pollsDropped;
    private long _writeFailures;
    private long _batches;
    private long _filesLost;
    private SqliteConnection? _connection;
    private volatile int _health;
    private volatile string? _lastError;
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(50);
    private Row[] _rows = new Row[1024];
    private Row[] _sorted = [];
    // The sort's per-batch tables, reused: with thousands of series each is over the large-object threshold, and a
    // fresh one per batch left megabytes of dead arrays on the large object heap until the next full collection.
    private readonly Dictionary<long, int> _seriesCounts = [];
    private readonly Dictionary<long, int> _seriesNext = [];
    private long[] _seriesOrder = [];


    public BatchedWriter(RoadmapDatabase database, StorageOptions options, TimeProvider time, ILogger<BatchedWriter> log)
    {
        _database = database;
        _options = options;
        _time = time;
        _log = log;
        _retention = new Retention(options, time);
        _queue = Channel.CreateBounded<object>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Samples committed so far.</summary>
    public long SamplesWritten => Interlocked.Read(ref _samplesWritten);

    /// <summary>Polls committed so far.</summary>
    public long PollsWritten => Interlocked.Read(ref _pollsWritten);

    /// <summary>Polls dropped because the queue was full, or because the database refused them at shutdown.</summary>
    public long PollsDropped => Interlocked.Read(ref _pollsDropped);

    /// <summary>Failed batch commits (each is retried).</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    /// <summary>Transactions committed so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>
    /// Times the database file was found deleted, moved or replaced under the running service (its write-ahead log
    /// included). Each is reported once, and the writer opens a database at the path again, keeping what is queued.
    /// </summary>
    public long FilesLost => Interlocked.Read(ref _filesLost);

    /// <summary>Polls waiting to be written.</summary>
    public int QueueLength => _queue.Reader.CanCount ? _queue.Reader.Count : -1;

    /// <summary>Whether commits go through: <see cref="StorageHealth.Ok"/> after a successful one, else why the last failed.</summary>
    public StorageHealth Health => (StorageHealth)_health;

    /// <summary>The last commit failure's message while <see cref="Health"/> is not Ok; null when Ok.</summary>
    public string? LastError => _lastError;

    /// <summary>The database's bytes on disk (main file and write-ahead log).</summary>
    public long DatabaseBytes => _database.SizeBytes();

    /// <summary>Rows deleted by retention so far.</summary>
    public long RowsPruned => Interlocked.Read(ref _rowsPruned);

    private long _rowsPruned;

    public bool IsRunning => _loop is { IsCompleted: false };

    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>Queues a poll; false (and counted) when the queue is full or the writer is stopping.</summary>
    public bool TryEnqueue(PollRecord poll)
    {
        ArgumentNullException.ThrowIfNull(poll);
        if (_queue.Writer.TryWrite(poll))
        {
            // A full batch is worth committing now rather than at the end of the interval.
            if (Interlocked.Add(ref _pendingSamples, poll.Samples.Count) >= _options.MaxBatchSamples)
            {
                _wake.TrySetResult();
            }

            return true;
        }

        Interlocked.Increment(ref _pollsDropped);
        return false;
    }

    /// <summary>Completes when every poll queued before the call is committed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = NewSignal();
        await _queue.Writer.WriteAsync(done, cancellationToken);
        _wake.TrySetResult();
        await done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops taking polls and writes every queued one before returning.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        _wake.TrySetResult();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SqliteConnection OpenWriterConnection()
    {
        var connection = _database.OpenConnection();
        raw.sqlite3_busy_timeout(connection.Handle, (int)_options.BusyTimeout.TotalMilliseconds);
        // A batch touches the last pages of every series; with SQLite's default 2 MiB they are evicted (and spilled
        // mid-transaction) before the next batch comes back to them. The cache is resident memory once full, so it is
        // sized for that working set, not more: a larger cache costs the memory goal its size in RSS
        // (docs/PERFORMANCE.md, goal 6).
        raw.sqlite3_exec(connection.Handle, FormattableString.Invariant($"PRAGMA cache_size=-{_options.PageCacheBytes / 1024};"));
        return connection;
    }

    private async Task RunAsync()
    {
        _connection = OpenWriterConnection();
        try
        {
            await RunLoopAsync();
        }
        finally
        {
            _connection?.Dispose();
        }
    }

    private async Task RunLoopAsync()
    {
        var batch = new PendingBatch();
        var flushes = new List<TaskCompletionSource>();
        var waitForData = _queue.Reader.WaitToReadAsync().AsTask();
        while (true)
        {
            // Idle: wake for new polls, or for retention now and then.
            if (!waitForData.IsCompleted)
            {
                await Task.WhenAny(waitForData, Task.Delay(_options.FlushInterval, _time));
                if (!waitForData.IsCompleted)
                {
                    CheckDatabaseFileWhileIdle();
                    Prune();
                    continue;
                }
            }

            if (!await waitForData)
            {
                break;
            }

            // Linger so that the polls of one interval share a transaction; a full batch, a flush or shutdown cuts it
            // short. Meanwhile the queue is drained every DrainInterval into the batch's reused arrays: a poll object
            // then dies within milliseconds, in the youngest generation, instead of waiting out the interval in the
            // queue and being promoted to gen2, where 2,000 polls a second left tens of MiB of fragmentation.
            var wake = _wake;
            var deadline = _time.GetUtcNow() + _options.FlushInterval;
            Drain(batch, flushes);
            while (!_stopping && !wake.Task.IsCompleted && batch.SampleCount < _options.MaxBatchSamples)
            {
                var left = deadline - _time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                using (var cancel = new CancellationTokenSource())
                {
                    await Task.WhenAny(Task.Delay(left < DrainInterval ? left : DrainInterval, _time, cancel.Token), wake.Task);
                    await cancel.CancelAsync();
                }

                Drain(batch, flushes);
            }

            if (wake.Task.IsCompleted && !_stopping)
            {
                _wake = NewSignal();
            }

            Interlocked.Add(ref _pendingSamples, -batch.QueuedSamples);
            await WriteWithRetryAsync(batch);
            foreach (var f in flushes)
            {
                f.TrySetResult();
            }

            batch.Clear();
            flushes.Clear();
            if (!_stopping)
            {
                Prune();
            }

            waitForData = _queue.Reader.WaitToReadAsync().AsTask();
        }
    }

    /// <summary>Moves queued polls into the batch (until it holds <see cref="StorageOptions.MaxBatchSamples"/>
    /// samples) and queued flush requests into <paramref name="flushes"/>.</summary>
    private void Drain(PendingBatch batch, List<TaskCompletionSource> flushes)
    {
        while (batch.SampleCount < _options.MaxBatchSamples && _queue.Reader.TryRead(out var item))
        {
            if (item is PollRecord poll)
            {
                batch.Add(poll);
            }
            else
            {
                flushes.Add((TaskCompletionSource)item);
            }
        }
    }

    /// <summary>One small retention step when one is due; a failure waits for the next (the writer's health is about samples).</summary>
    private void Prune()
    {
        if (!_retention.Due || Health != StorageHealth.Ok)
        {
            return;
        }

        try
        {
            Interlocked.Add(ref _rowsPruned, _retention.Step(_connection!));
        }
        catch (SqliteException e)
        {
            LogPruneFailed(_log, e);
        }
    }

    /// <summary>
    /// Before a commit (and now and then while idle): is the path still the file the writer has open? A commit into a
    /// deleted file succeeds and is lost with it. On a loss, once: log it, count it, and recover (what the old file
    /// holds is saved, a database is opened at the path, the writer continues there with what is queued).
    /// </summary>
    /// <exception cref="DatabaseFileLostException">Lost, and no database can be opened at the path yet.</exception>
    private void EnsureDatabaseFile()
    {
        if (_database.FileProblem() is not { } loss)
        {
            return;
        }

        if (Health != StorageHealth.FileLost)
        {
            Interlocked.Increment(ref _filesLost);
            _lastError = loss.Message;
            _health = (int)StorageHealth.FileLost;
            LogFileLost(_log, loss.Message);
        }

        string outcome;
        try
        {
            outcome = _database.Recover(loss, _connection!, _time);
        }
        catch (StorageException e)
        {
            throw new DatabaseFileLostException($"{loss.Message}; {e.Message}", e);
        }

        _connection!.Dispose();
        _connection = OpenWriterConnection();
        // Series ids and open rollup buckets belong to the old file; the new one is read afresh.
        _seriesIds.Clear();
        _hours.Forget();
        _days.Forget();
        LogFileRecovered(_log, loss.Message, outcome);
    }

    private void CheckDatabaseFileWhileIdle()
    {
        try
        {
            EnsureDatabaseFile();
        }
        catch (Exception e) when (e is DatabaseFileLostException or SqliteException or IOException or UnauthorizedAccessException)
        {
            NoteFailure(e, 0);
            return;
        }

        if (Health == StorageHealth.FileLost)
        {
            MarkHealthy(0);
        }
    }

    private void MarkHealthy(int failures)
    {
        if (Health != StorageHealth.Ok)
        {
            LogRecovered(_log, failures);
            _lastError = null;
            _health = (int)StorageHealth.Ok;
        }
    }

    /// <summary>Records a failed write (or file check): the state, and one log line per change of state or cause.</summary>
    private void NoteFailure(Exception e, int polls)
    {
        Interlocked.Increment(ref _writeFailures);
        var (health, cause) = StorageHealths.Classify(e);
        var changed = health != Health || _lastError is null;
        _lastError = $"{cause}: {e.Message}";
        _health = (int)health;
        if (changed)
        {
            // One line per state change, not per retry: a lock that lasts an hour is one line, not thousands.
            LogWriteFailing(_log, e, cause, polls);
        }
    }

    private async Task WriteWithRetryAsync(PendingBatch batch)
    {
        if (batch.PollCount == 0)
        {
            return;
        }

        var delay = _options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                EnsureDatabaseFile();
                Write(_connection!, batch);
                MarkHealthy(attempt - 1);
                return;
            }
            catch (Exception e) when (e is SqliteException or IOException or InvalidOperationException or FormatException or DatabaseFileLostException or UnauthorizedAccessException)
            {
                // While running, keep the batch and retry: samples wait here and new polls wait in the bounded
                // queue (and are dropped, counted, once it is full). At shutdown, give up after a few tries rather
                // than hang the stop.
                NoteFailure(e, batch.PollCount);
                if (_stopping && attempt >= 3)
                {
                    Interlocked.Add(ref _pollsDropped, batch.PollCount);
                    LogDroppedAtShutdown(_log, e, batch.PollCount, attempt);
                    return;
                }

                await Task.Delay(delay, _time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    private void Write(SqliteConnection connection, PendingBatch batch)
    {
        var db = connection.Handle!;
        var created = new List<(string, string)>();
        // BEGIN IMMEDIATE through the raw API: the lock is taken up front (no upgrade deadlock) and only
        // busy_timeout waits, not the ADO.NET command timeout on top of it.
        Check(raw.sqlite3_exec(db, "BEGIN IMMEDIATE;"), db);
        try
        {
            using (var insertPoll = Prepare(db, PollsTable.InsertRaw))
            {
                foreach (ref readonly var poll in batch.Polls)
                {
                    raw.sqlite3_bind_text(insertPoll, 1, poll.Source);
                    raw.sqlite3_bind_int64(insertPoll, 2, poll.TimestampMs);
                    raw.sqlite3_bind_double(insertPoll, 3, poll.DurationSeconds * 1000);
                    raw.sqlite3_bind_text(insertPoll, 4, poll.Success ? "success" : "failure");
                    if (poll.Reason is null)
                    {
                        raw.sqlite3_bind_null(insertPoll, 5);
                    }
                    else
                    {
                        raw.sqlite3_bind_text(insertPoll, 5, poll.Reason);
                    }

                    Step(insertPoll, db);
                }
            }

            var samples = batch.Samples;
            if (_rows.Length < samples.Length)
            {
                Array.Resize(ref _rows, Math.Max(samples.Length, _rows.Length * 2));
            }

            for (var i = 0; i < samples.Length; i++)
            {
                ref readonly var sample = ref samples[i];
                var key = (sample.Source, sample.Signal);
                if (!_seriesIds.TryGetValue(key, out var id))
                {
                    id = SeriesTable.GetOrCreate(connection, null, sample.Source, sample.Signal);
                    _seriesIds[key] = id;
                    created.Add(key);
                }

                _rows[i] = new Row(id, sample.TimestampMs, sample.Value, i);
            }

            var rows = SortBySeriesAndTime(samples.Length);
            InsertSamples(db, rows);

            UpdateRollups(connection, rows);
            Check(raw.sqlite3_exec(db, "COMMIT;"), db);
            Interlocked.Add(ref _samplesWritten, samples.Length);
            Interlocked.Add(ref _pollsWritten, batch.PollCount);
            Interlocked.Increment(ref _batches);
        }
        catch
        {
            raw.sqlite3_exec(db, "ROLLBACK;");
            // Series created in a rolled-back transaction do not exist; the rollups in memory hold samples that were
            // not committed: both are read back from the database on the retry.
            foreach (var key in created)
            {
                _seriesIds.Remove(key);
            }

            _hours.Forget();
            _days.Forget();
            throw;
        }
    }

    /// <summary>
    /// Inserts the sorted rows <see cref="SamplesTable.InsertManyRows"/> per statement, the rest one by one. A statement
    /// step per row pays SQLite's per-statement work (VDBE start-up, opening the cursor) on every sample; a multi-row
    /// statement pays it once per statement, which raised the ingest rate of bench/Roadmap.Bench.Storage (the figures are in
    /// docs/PERFORMANCE.md, goals 1-2).
    /// </summary>
    private static void InsertSamples(sqlite3 db, ReadOnlySpan<Row> rows)
    {
        var whole = rows.Length - (rows.Length % SamplesTable.InsertManyRows);
        InsertInStatementsOf(db, SamplesTable.InsertManyRaw, SamplesTable.InsertManyRows, rows[..whole]);
        InsertInStatementsOf(db, SamplesTable.InsertOneRaw, 1, rows[whole..]);
    }

    /// <param name="rows">A multiple of <paramref name="perStatement"/> rows.</param>
    private static void InsertInStatementsOf(sqlite3 db, string sql, int perStatement, ReadOnlySpan<Row> rows)
    {
        if (rows.IsEmpty)
        {
            return;
        }

        using var insert = Prepare(db, sql);
        for (var i = 0; i < rows.Length; i += perStatement)
        {
            for (var k = 0; k < perStatement; k++)
            {
                ref readonly var row = ref rows[i + k];
                raw.sqlite3_bind_int64(insert, (3 * k) + 1, row.Series);
                raw.sqlite3_bind_int64(insert, (3 * k) + 2, row.Ts);
                raw.sqlite3_bind_double(insert, (3 * k) + 3, row.Value);
            }

            Step(insert, db);
        }
    }

    /// <summary>
    /// Adds the batch (sorted by series, ts) to the open buckets and writes the buckets it touched. The samples of one
    /// series and hour are summarized once and that summary is appended to both its hour and its day bucket: each
    /// sample enters one sketch, not two.
    /// </summary>
    private void UpdateRollups(SqliteConnection connection, ReadOnlySpan<Row> rows)
    {
        var i = 0;
        while (i < rows.Length)
        {
            var series = rows[i].Series;
            var hourStart = RollupLevel.Hour.StartOf(rows[i].Ts);
            var part = NewSummary();
            var duplicate = false;
            for (; i < rows.Length && rows[i].Series == series && rows[i].Ts - hourStart < RollupLevel.Hour.SizeMs; i++)
            {
                // Equal ts: the later sample replaced the earlier in the table, so the bucket is recomputed from it.
                duplicate |= part.Count > 0 && rows[i].Ts == part.LastTimestampMs;
                part.Add(new Point(rows[i].Ts, rows[i].Value));
            }

            _hours.Get(connection, series, hourStart).Add(part, duplicate);
            _days.Get(connection, series, RollupLevel.Day.StartOf(hourStart)).Add(part, duplicate);
        }

        // Hours first: a day that must be recomputed is rebuilt from its (just written) hours.
        _hours.WriteTouched(connection, null);
        _days.WriteTouched(connection, RollupLevel.Hour);
    }

    /// <summary>An empty summary that keeps no list of exact values (rollups only need the sketch).</summary>
    private static SeriesSummary NewSummary() => SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch());

    /// <summary>
    /// The batch's rows ordered by (series, ts, arrival): grouped by series in one stable pass (a counting sort on
    /// the few distinct series), then each series' run sorted by time only if it is not already, which polls
    /// arriving in time order almost never need. A full comparison sort of 200,000 rows costs more than this.
    /// </summary>
    private Span<Row> SortBySeriesAndTime(int count)
    {
        var rows = _rows.AsSpan(0, count);
        _seriesCounts.Clear();
        foreach (ref readonly var row in rows)
        {
            _seriesCounts[row.Series] = _seriesCounts.GetValueOrDefault(row.Series) + 1;
        }

        if (_sorted.Length < _rows.Length)
        {
            _sorted = new Row[_rows.Length];
        }

        if (_seriesOrder.Length < _seriesCounts.Count)
        {
            _seriesOrder = new long[_seriesCounts.Count * 2];
        }

        _seriesCounts.Keys.CopyTo(_seriesOrder, 0);
        var offsets = _seriesOrder.AsSpan(0, _seriesCounts.Count);
        offsets.Sort();
        var next = _seriesNext;
        next.Clear();
        var at = 0;
        foreach (var series in offsets)
        {
            next[series] = at;
            at += _seriesCounts[series];
        }

        foreach (ref readonly var row in rows)
        {
            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(next, row.Series);
            _sorted[slot++] = row;
        }

        var sorted = _sorted.AsSpan(0, count);
        var start = 0;
        foreach (var series in offsets)
        {
            var run = sorted.Slice(start, _seriesCounts[series]);
            for (var k = 1; k < run.Length; k++)
            {
                if (run[k].Ts < run[k - 1].Ts)
                {
                    run.Sort(); // Seq breaks ties, so equal timestamps keep their arrival order
                    break;
                }
            }

            start += run.Length;
        }

        return sorted;
    }

    private static sqlite3_stmt Prepare(sqlite3 db, string sql)
    {
        Check(raw.sqlite3_prepare_v2(db, sql, out var stmt), db);
        return stmt;
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

    private static void Check(int rc, sqlite3 db)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>
    /// The polls of the batch being gathered, copied out of their <see cref="PollRecord"/>s into arrays that are
    /// reused from batch to batch (only the strings, which outlive a poll anyway, are shared).
    /// </summary>
    private sealed class PendingBatch
    {
        private PollRow[] _polls = new PollRow[256];
        private SampleRow[] _samples = new SampleRow[1024];

        public int PollCount { get; private set; }

        /// <summary>Samples stored (finite values only).</summary>
        public int SampleCount { get; private set; }

        /// <summary>Samples the polls carried, the non-finite ones included: what they added to the queue's count.</summary>
        public long QueuedSamples { get; private set; }

        public ReadOnlySpan<PollRow> Polls => _polls.AsSpan(0, PollCount);

        public ReadOnlySpan<SampleRow> Samples => _samples.AsSpan(0, SampleCount);

        public void Add(PollRecord poll)
        {
            if (PollCount == _polls.Length)
            {
                Array.Resize(ref _polls, _polls.Length * 2);
            }

            _polls[PollCount++] = new PollRow(poll.Source, poll.TimestampMs, poll.DurationSeconds, poll.Success, poll.Reason);
            foreach (var sample in poll.Samples)
            {
                // SQLite stores NaN as NULL; a non-finite sample carries no information worth a failed batch.
                if (!double.IsFinite(sample.Value))
                {
                    continue;
                }

                if (SampleCount == _samples.Length)
                {
                    Array.Resize(ref _samples, _samples.Length * 2);
                }

                _samples[SampleCount++] = new SampleRow(poll.Source, sample.Signal, poll.TimestampMs, sample.Value);
            }

            QueuedSamples += poll.Samples.Count;
        }

        /// <summary>Empties the batch, dropping its references to strings so that reasons do not linger.</summary>
        public void Clear()
        {
            Array.Clear(_polls, 0, PollCount);
            Array.Clear(_samples, 0, SampleCount);
            PollCount = 0;
            SampleCount = 0;
            QueuedSamples = 0;
        }
    }

    private readonly record struct PollRow(string Source, long TimestampMs, double DurationSeconds, bool Success, string? Reason);

    private readonly record struct SampleRow(string Source, string Signal, long TimestampMs, double Value);

    /// <summary>A sample to insert; sorts by series, then time, then arrival (the later of two at one ts wins).</summary>
    private readonly record struct Row(long Series, long Ts, double Value, int Seq) : IComparable<Row>
    {
        public int CompareTo(Row other)
        {
            var c = Series.CompareTo(other.Series);
            if (c != 0)
            {
                return c;
            }

            c = Ts.CompareTo(other.Ts);
            return c != 0 ? c : Seq.CompareTo(other.Seq);
        }
    }

    /// <summary>One rollup bucket being filled. Samples arrive in time order per series; one at or before the bucket's
    /// last (late, or a duplicate ts that replaces a value) marks it for an exact recompute at write time.</summary>
    private sealed class Bucket(long series, long start, SeriesSummary summary)
    {
        public long Series { get; } = series;

        public long Start { get; } = start;

        public SeriesSummary Summary { get; set; } = summary;

        public bool Recompute { get; set; }

        /// <param name="part">Samples of this bucket later than any added before, in time order.</param>
        /// <param name="duplicate">Whether two samples of the part share a ts (the table kept only the later).</param>
        public void Add(SeriesSummary part, bool duplicate)
        {
            if (duplicate || (Summary.Count > 0 && part.FirstTimestampMs <= Summary.LastTimestampMs))
            {
                Recompute = true;
            }
            else if (!Recompute)
            {
                Summary.Append(part);
            }
        }
    }

    /// <summary>The open buckets of one level: the newest per series stays in memory; an older one (late sample) or
    /// one not in memory (after a restart) is read from its row first.</summary>
    private sealed class RollupCache(RollupLevel level)
    {
        private readonly Dictionary<long, Bucket> _newest = [];
        private readonly Dictionary<(long, long), Bucket> _touched = [];

        public Bucket Get(SqliteConnection c, long series, long start)
        {
            if (_newest.TryGetValue(series, out var b) && b.Start == start)
            {
                _touched.TryAdd((series, start), b);
                return b;
            }

            if (_touched.TryGetValue((series, start), out b))
            {
                return b;
            }

            b = new Bucket(series, start, Load(c, series, start) ?? NewSummary());
            _touched[(series, start)] = b;
            if (!_newest.TryGetValue(series, out var newest) || start > newest.Start)
            {
                _newest[series] = b;
            }

            return b;
        }

        /// <summary>Drops everything in memory (after a rollback): the rows are the truth.</summary>
        public void Forget()
        {
            _newest.Clear();
            _touched.Clear();
        }

        /// <param name="finer">The level to rebuild a recomputed bucket from; null: from the raw samples.</param>
        public void WriteTouched(SqliteConnection c, RollupLevel? finer)
        {
            using var upsert = RollupsTable.PrepareUpsert(c, level);
            foreach (var b in _touched.Values)
            {
                if (b.Recompute)
                {
                    b.Summary = finer is null
                        ? SeriesSummary.FromPoints(SamplesTable.Range(c, b.Series, b.Start, b.Start + level.SizeMs - 1))
                        : Combine(c, finer, b.Series, b.Start, b.Start + level.SizeMs);
                    b.Recompute = false;
                }

                if (b.Summary.Count > 0)
                {
                    RollupsTable.Bind(upsert, b.Series, b.Start, b.Summary);
                    upsert.ExecuteNonQuery();
                }
            }

            _touched.Clear();
        }

        private SeriesSummary? Load(SqliteConnection c, long series, long start)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = RollupsTable.SelectOne(level);
            cmd.Parameters.AddWithValue("$series", series);
            cmd.Parameters.AddWithValue("$start", start);
            using var r = cmd.ExecuteReader();
            return r.Read() ? RollupsTable.Read(r) : null;
        }

        private static SeriesSummary Combine(SqliteConnection c, RollupLevel finer, long series, long from, long to)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = RollupsTable.SelectRange(finer);
            cmd.Parameters.AddWithValue("$series", series);
            cmd.Parameters.AddWithValue("$from", from);
            cmd.Parameters.AddWithValue("$to", to);
            using var r = cmd.ExecuteReader();
            var total = SeriesSummary.Empty();
            while (r.Read())
            {
                total.Append(RollupsTable.Read(r));
            }

            return total;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropped {Polls} polls at shutdown: the database refused them {Attempts} times")]
    private static partial void LogDroppedAtShutdown(ILogger log, Exception e, int polls, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing to the database failed: {Cause}. {Polls} polls wait and the write is retried until it succeeds; new polls queue (and are dropped, counted, once the queue is full)")]
    private static partial void LogWriteFailing(ILogger log, Exception e, string cause, int polls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writing to the database works again after {Failures} failed attempts; nothing waiting was lost")]
    private static partial void LogRecovered(ILogger log, int failures);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage: {Problem} under the running service. Nothing is written to the lost file from now on; a database is opened at the path again, keeping every queued poll")]
    private static partial void LogFileLost(ILogger log, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage recovered from the lost file ({Problem}): {Outcome}; writing continues there")]
    private static partial void LogFileRecovered(ILogger log, string problem, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A retention step failed; it is tried again later")]
    private static partial void LogPruneFailed(ILogger log, Exception e);
}

/// <summary>The database file was lost and no database can be opened at its path yet (see <see cref="StorageHealth.FileLost"/>).</summary>
public sealed class DatabaseFileLostException(string message, Exception? inner = null) : Exception(message, inner);
