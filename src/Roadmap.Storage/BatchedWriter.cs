using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage;

/// <summary>
/// The one way samples reach the store, the same for every backend. Polls queue in memory (bounded: when full, new
/// polls are dropped and counted, never blocking a poller) and are committed in batches: one transaction per flush
/// interval, or as soon as <see cref="StorageOptions.MaxBatchSamples"/> samples wait, never one per sample. Each batch
/// is sorted by (series, ts) (<see cref="SampleSorter"/>): the samples table is clustered by that key, and sorted
/// inserts are what keeps 1,000 interleaved series fast. The hour and day rollups the batch touches are updated in
/// memory per sample (<see cref="Rollups"/>) and written in the same transaction. A failed commit keeps its batch and
/// is retried with backoff until the cause goes away (<see cref="Health"/> says why meanwhile). Between flushes,
/// retention removes old rows in small steps. Disposing flushes what is queued. The backend contributes only its
/// statements and transactions, through the <see cref="IStorageWriteSession"/> it opens for the writer.
/// </summary>
public sealed partial class BatchedWriter : IPollWriter
{
    private readonly IRoadmapStorage _storage;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<object> _queue;
    private readonly Dictionary<(string, string), long> _seriesIds = [];
    private readonly Rollups _rollups;
    private readonly SampleSorter _sorter = new();
    private readonly List<(string, string)> _created = [];
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
    private IStorageWriteSession? _session;
    private volatile int _health;
    private volatile string? _lastError;
    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(50);

    /// <param name="storage">The opened store; the writer opens its write session when started.</param>
    public BatchedWriter(IRoadmapStorage storage, StorageOptions options, TimeProvider time, ILogger<BatchedWriter> log)
    {
        _storage = storage;
        _options = options;
        _time = time;
        _log = log;
        _rollups = new Rollups(storage.ReadsPastHourRollups ? (long)options.OpenHourRollupEvery.TotalMilliseconds : 0);
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

    /// <summary>The wall time the write loop has spent working so far, by step, and the CPU time of all steps.</summary>
    public WriterBusy Busy => new(
        TimeSpan.FromTicks(Interlocked.Read(ref _busyBatches)),
        TimeSpan.FromTicks(Interlocked.Read(ref _busyRollups)),
        TimeSpan.FromTicks(Interlocked.Read(ref _busyRetention)),
        TimeSpan.FromTicks(Interlocked.Read(ref _busyCompaction)),
        ThreadCpu.Supported ? TimeSpan.FromTicks(Interlocked.Read(ref _busyCpu)) : null);

    // TimeSpan ticks the loop spent per step (Busy), and the CPU time of all steps; each added once its step returns.
    private long _busyCpu;
    private long _busyBatches;
    private long _busyRollups;
    private long _busyRetention;
    private long _busyCompaction;

    /// <summary>The open hours whose summary the writer holds in memory (tests; read while the writer is idle).</summary>
    internal int OpenHourSummaries => _rollups.OpenHourSummaries;

    /// <summary>
    /// Times the store was found lost under the running service (for SQLite: the database file or its write-ahead log
    /// deleted, moved or replaced). Each is reported once, and the writer opens the store again, keeping what is queued.
    /// </summary>
    public long FilesLost => Interlocked.Read(ref _filesLost);

    /// <summary>Polls waiting to be written.</summary>
    public int QueueLength => _queue.Reader.CanCount ? _queue.Reader.Count : -1;

    /// <summary>Whether commits go through: <see cref="StorageHealth.Ok"/> after a successful one, else why the last failed.</summary>
    public StorageHealth Health => (StorageHealth)_health;

    /// <summary>The last commit failure's message while <see cref="Health"/> is not Ok; null when Ok.</summary>
    public string? LastError => _lastError;

    /// <summary>The store's bytes on disk (<see cref="IRoadmapStorage.SizeBytes"/>).</summary>
    public long DatabaseBytes => _storage.SizeBytes();

    /// <summary>The memory the store's library holds in this process (<see cref="IRoadmapStorage.MemoryBytes"/>).</summary>
    public long? StoreMemoryBytes => _storage.MemoryBytes;

    /// <summary>Rows removed by retention so far.</summary>
    public long RowsPruned => Interlocked.Read(ref _rowsPruned);

    private long _rowsPruned;

    /// <summary>Chunks written by compaction so far (each seals a closed hour or day of one series).</summary>
    public long ChunksSealed => Interlocked.Read(ref _chunksSealed);

    /// <summary>Hot samples moved into chunks by compaction so far.</summary>
    public long SamplesSealed => Interlocked.Read(ref _samplesSealed);

    /// <summary>The last compaction sweep that sealed anything, once it ended; null before one has.</summary>
    public CompactionSweep? LastSweep => _lastSweep;

    private static readonly TimeSpan CompactProgressInterval = TimeSpan.FromSeconds(10);
    private long _chunksSealed;
    private long _samplesSealed;
    private volatile CompactionSweep? _lastSweep;
    private bool _compactBacklog;
    private DateTimeOffset? _sweepStarted;
    private DateTimeOffset? _lastProgress;
    private bool _sweepLogged;
    private long _sweepChunks;
    private long _sweepSamples;

    /// <summary>Whether the write loop runs (started and not stopped).</summary>
    public bool IsRunning => _loop is { IsCompleted: false };

    /// <summary>Starts the write loop; a second call does nothing.</summary>
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

    private async Task RunAsync()
    {
        _session = _storage.OpenWriteSession(_options, _time);
        try
        {
            await RunLoopAsync();
        }
        finally
        {
            CloseAppends();
            _session.Dispose();
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
                // While compaction has a backlog (the conversion of a database written before chunks), idle time is
                // spent on it at once: every step is a short transaction of its own, and a poll waits for one at most.
                await Task.WhenAny(waitForData, _appendWake.Task, Task.Delay(_compactBacklog ? TimeSpan.Zero : _options.FlushInterval, _time));
                RunAppends();
                if (!waitForData.IsCompleted)
                {
                    CheckStoreWhileIdle();
                    CloseHours(allEnded: false);
                    Prune();
                    Compact();
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
                    await Task.WhenAny(Task.Delay(left < DrainInterval ? left : DrainInterval, _time, cancel.Token), wake.Task, _appendWake.Task);
                    await cancel.CancelAsync();
                }

                RunAppends();
                Drain(batch, flushes);
            }

            if (wake.Task.IsCompleted && !_stopping)
            {
                _wake = NewSignal();
            }

            Interlocked.Add(ref _pendingSamples, -batch.QueuedSamples);
            await WriteWithRetryAsync(batch);
            if (flushes.Count > 0 || _stopping)
            {
                // Nothing more is coming for the hours that ended (a flush waits for what was enqueued; a stop ends
                // the writer): fold them now rather than after the grace.
                CloseHours(allEnded: true);
            }

            foreach (var f in flushes)
            {
                f.TrySetResult();
            }

            batch.Clear();
            flushes.Clear();
            if (!_stopping)
            {
                Prune();
                Compact();
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
        if (Health != StorageHealth.Ok)
        {
            return;
        }

        var start = StepStart();
        try
        {
            Interlocked.Add(ref _rowsPruned, _session!.Prune());
        }
        catch (StorageException e)
        {
            LogPruneFailed(_log, e);
        }
        finally
        {
            AddBusy(ref _busyRetention, start);
        }
    }

    /// <summary>When a step starts: the writer's clock, and the thread's CPU clock (<see cref="ThreadCpu"/>).</summary>
    private (long Wall, long? Cpu) StepStart() => (_time.GetTimestamp(), ThreadCpu.Ticks());

    /// <summary>
    /// Adds the wall time since <paramref name="start"/> to one step's ticks, and the CPU time the thread used since to
    /// the writer's. A step runs on one thread from start to end (no await inside), so the difference is its own.
    /// </summary>
    private void AddBusy(ref long ticks, (long Wall, long? Cpu) start)
    {
        Interlocked.Add(ref ticks, _time.GetElapsedTime(start.Wall).Ticks);
        if (start.Cpu is { } cpu0 && ThreadCpu.Ticks() is { } cpu1)
        {
            Interlocked.Add(ref _busyCpu, cpu1 - cpu0);
        }
    }

    /// <summary>
    /// Folds the hours that ended into their days (<see cref="Rollups"/>) in a transaction of their own: while no poll
    /// comes (otherwise a day's last hour would wait for the next poll), and with <paramref name="allEnded"/> after a
    /// flush or at a stop, when also the hours written within the grace are closed. A failure is noted like a failed
    /// batch; the next idle round, or the next process's first fold of the day, does it.
    /// </summary>
    private void CloseHours(bool allEnded)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (Health != StorageHealth.Ok || !_rollups.CloseDue(now, allEnded))
        {
            return;
        }

        var session = _session!;
        var start = StepStart();
        try
        {
            session.Begin();
            _rollups.Update(session, [], now, allEnded);
            session.Commit();
        }
        catch (StorageException e)
        {
            session.Rollback();
            _rollups.Forget();
            NoteFailure(e, 0);
        }
        finally
        {
            AddBusy(ref _busyRollups, start);
        }
    }

    /// <summary>
    /// One short compaction step when one is due (closed ranges of hot samples sealed into chunks); a failure waits for
    /// the next sweep. A long sweep (the first after start, over a database written before chunks) says how far it got
    /// every <see cref="CompactProgressInterval"/>, and when it is done.
    /// </summary>
    private void Compact()
    {
        if (Health != StorageHealth.Ok)
        {
            return;
        }

        var start = StepStart();
        try
        {
            var step = _session!.Compact();
            _compactBacklog = step.Chunks > 0;
            var now = _time.GetUtcNow();
            if (step.Chunks > 0)
            {
                Interlocked.Add(ref _chunksSealed, step.Chunks);
                Interlocked.Add(ref _samplesSealed, step.Samples);
                _sweepStarted ??= now;
                _sweepChunks += step.Chunks;
                _sweepSamples += step.Samples;
                _lastProgress ??= now;
                if (now - _lastProgress >= CompactProgressInterval)
                {
                    _lastProgress = now;
                    _sweepLogged = true;
                    LogCompacting(_log, _sweepSamples, _sweepChunks, step.SeriesLeft);
                }
            }
            else if (_sweepStarted is { } started)
            {
                _lastSweep = new CompactionSweep(_sweepSamples, _sweepChunks, now - started);
                if (_sweepLogged)
                {
                    LogCompacted(_log, _sweepSamples, _sweepChunks, (now - started).TotalSeconds);
                }

                (_sweepStarted, _lastProgress, _sweepLogged, _sweepChunks, _sweepSamples) = (null, null, false, 0, 0);
            }
        }
        catch (StorageException e)
        {
            _compactBacklog = false;
            LogCompactFailed(_log, e);
        }
        finally
        {
            AddBusy(ref _busyCompaction, start);
        }
    }

    /// <summary>
    /// Before a commit (and now and then while idle): is the store still the one the writer has open? For SQLite, a
    /// commit into a deleted file succeeds and is lost with it. On a loss, once: log it, count it, and recover (the
    /// backend saves what it can and opens the store again; the writer continues there with what is queued).
    /// </summary>
    /// <exception cref="StorageException">Lost, and the store cannot be opened again yet (<see cref="StorageHealth.FileLost"/>).</exception>
    private void EnsureStore()
    {
        if (_session!.StoreLost() is not { } loss)
        {
            return;
        }

        if (Health != StorageHealth.FileLost)
        {
            Interlocked.Increment(ref _filesLost);
            _lastError = loss;
            _health = (int)StorageHealth.FileLost;
            LogFileLost(_log, loss);
        }

        var outcome = _session.RecoverStore();
        // Series ids and open rollup buckets belong to the old store; the new one is read afresh.
        _seriesIds.Clear();
        _rollups.Forget();
        LogFileRecovered(_log, loss, outcome);
    }

    private void CheckStoreWhileIdle()
    {
        try
        {
            EnsureStore();
        }
        catch (StorageException e)
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
    private void NoteFailure(StorageException e, int polls)
    {
        Interlocked.Increment(ref _writeFailures);
        var (health, cause) = (e.Health, e.Cause);
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
            var start = StepStart();
            try
            {
                EnsureStore();
                Write(batch);
                AddBusy(ref _busyBatches, start);
                MarkHealthy(attempt - 1);
                return;
            }
            catch (StorageException e)
            {
                // While running, keep the batch and retry: samples wait here and new polls wait in the bounded
                // queue (and are dropped, counted, once it is full). At shutdown, give up after a few tries rather
                // than hang the stop. The failed attempt, its lock wait included, was work; the backoff is not.
                AddBusy(ref _busyBatches, start);
                NoteFailure(e, batch.PollCount);
                if (_stopping && attempt >= 3)
                {
                    Interlocked.Add(ref _pollsDropped, batch.PollCount);
                    LogDroppedAtShutdown(_log, e, batch.PollCount, attempt);
                    return;
                }

                // Appends that wait meanwhile are tried (and most likely refused alike) rather than left waiting.
                RunAppends();
                await Task.Delay(delay, _time);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>One transaction: the polls, the samples sorted by (series, ts), and the rollup buckets they touch.</summary>
    private void Write(PendingBatch batch)
    {
        var session = _session!;
        _created.Clear();
        session.Begin();
        try
        {
            session.InsertPolls(batch.Polls);
            var samples = batch.Samples;
            var rows = _sorter.Rows(samples.Length);
            for (var i = 0; i < samples.Length; i++)
            {
                ref readonly var sample = ref samples[i];
                var key = (sample.Source, sample.Signal);
                if (!_seriesIds.TryGetValue(key, out var id))
                {
                    id = session.SeriesId(sample.Source, sample.Signal);
                    _seriesIds[key] = id;
                    _created.Add(key);
                }

                rows[i] = new SeriesSample(id, sample.TimestampMs, sample.Value, i);
            }

            var sorted = _sorter.Sort(samples.Length);
            session.InsertSamples(sorted);
            _rollups.Update(session, sorted, _time.GetUtcNow().ToUnixTimeMilliseconds());
            session.Commit();
            Interlocked.Add(ref _samplesWritten, samples.Length);
            Interlocked.Add(ref _pollsWritten, batch.PollCount);
            Interlocked.Increment(ref _batches);
        }
        catch
        {
            session.Rollback();
            // Series created in a rolled-back transaction do not exist; the rollups in memory hold samples that were
            // not committed: both are read back from the store on the retry.
            foreach (var key in _created)
            {
                _seriesIds.Remove(key);
            }

            _rollups.Forget();
            throw;
        }
    }

    /// <summary>
    /// The polls of the batch being gathered, copied out of their <see cref="PollRecord"/>s into arrays that are
    /// reused from batch to batch (only the strings, which outlive a poll anyway, are shared).
    /// </summary>
    private sealed class PendingBatch
    {
        private PollRow[] _polls = new PollRow[256];
        private QueuedSample[] _samples = new QueuedSample[1024];

        public int PollCount { get; private set; }

        /// <summary>Samples stored (finite values only).</summary>
        public int SampleCount { get; private set; }

        /// <summary>Samples the polls carried, the non-finite ones included: what they added to the queue's count.</summary>
        public long QueuedSamples { get; private set; }

        public ReadOnlySpan<PollRow> Polls => _polls.AsSpan(0, PollCount);

        public ReadOnlySpan<QueuedSample> Samples => _samples.AsSpan(0, SampleCount);

        public void Add(PollRecord poll)
        {
            if (PollCount == _polls.Length)
            {
                Array.Resize(ref _polls, _polls.Length * 2);
            }

            _polls[PollCount++] = new PollRow(poll.Source, poll.TimestampMs, poll.DurationSeconds, poll.Success, poll.Reason, poll.ScheduledMs);
            foreach (var sample in poll.Samples)
            {
                // SQLite stores NaN as NULL (refused by the NOT NULL column); a non-finite sample carries no information
                // worth a failed batch, on any backend.
                if (!double.IsFinite(sample.Value))
                {
                    continue;
                }

                if (SampleCount == _samples.Length)
                {
                    Array.Resize(ref _samples, _samples.Length * 2);
                }

                _samples[SampleCount++] = new QueuedSample(poll.Source, sample.Signal, poll.TimestampMs, sample.Value);
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

    private readonly record struct QueuedSample(string Source, string Signal, long TimestampMs, double Value);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Compacting history: {Samples} samples sealed into {Chunks} chunks so far in this sweep, {SeriesLeft} series left to look at; polls are written in between")]
    private static partial void LogCompacting(ILogger log, long samples, long chunks, int seriesLeft);

    [LoggerMessage(Level = LogLevel.Information, Message = "Compacting history done: {Samples} samples sealed into {Chunks} chunks in {Seconds:F0} s")]
    private static partial void LogCompacted(ILogger log, long samples, long chunks, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A compaction step failed; nothing was lost (its transaction rolled back) and it is tried again at the next sweep")]
    private static partial void LogCompactFailed(ILogger log, Exception e);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A retention step failed; it is tried again later")]
    private static partial void LogPruneFailed(ILogger log, Exception e);
}
