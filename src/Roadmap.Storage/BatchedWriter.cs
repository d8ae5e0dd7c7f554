using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Roadmap.Storage;

/// <summary>
/// The one way samples reach the database. Polls queue in memory (bounded: when full, new polls are dropped and
/// counted, never blocking a poller) and are committed in batches: one transaction per flush interval or per
/// <see cref="StorageOptions.MaxBatchSamples"/>, never one per sample. Disposing flushes what is queued.
/// </summary>
public sealed partial class BatchedWriter : IAsyncDisposable
{
    private readonly RoadmapDatabase _database;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<object> _queue;
    private readonly Dictionary<(string, string), long> _seriesIds = [];
    private TaskCompletionSource _wake = NewSignal();
    private Task? _loop;
    private volatile bool _stopping;
    private long _samplesWritten;
    private long _pollsWritten;
    private long _pollsDropped;
    private long _writeFailures;
    private long _batches;

    public BatchedWriter(RoadmapDatabase database, StorageOptions options, TimeProvider time, ILogger<BatchedWriter> log)
    {
        _database = database;
        _options = options;
        _time = time;
        _log = log;
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

    /// <summary>Polls waiting to be written.</summary>
    public int QueueLength => _queue.Reader.CanCount ? _queue.Reader.Count : -1;

    public bool IsRunning => _loop is { IsCompleted: false };

    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>Queues a poll; false (and counted) when the queue is full or the writer is stopping.</summary>
    public bool TryEnqueue(PollRecord poll)
    {
        if (_queue.Writer.TryWrite(poll))
        {
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
        using var connection = _database.OpenConnection();
        var polls = new List<PollRecord>();
        var flushes = new List<TaskCompletionSource>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            // Linger so that the polls of one interval share a transaction; a flush or shutdown cuts it short.
            var wake = _wake;
            if (!_stopping && !wake.Task.IsCompleted)
            {
                using var cancel = new CancellationTokenSource();
                await Task.WhenAny(Task.Delay(_options.FlushInterval, _time, cancel.Token), wake.Task);
                await cancel.CancelAsync();
            }

            if (wake.Task.IsCompleted && !_stopping)
            {
                _wake = NewSignal();
            }

            var samples = 0;
            while (samples < _options.MaxBatchSamples && _queue.Reader.TryRead(out var item))
            {
                if (item is PollRecord poll)
                {
                    polls.Add(poll);
                    samples += poll.Samples.Count;
                }
                else
                {
                    flushes.Add((TaskCompletionSource)item);
                }
            }

            await WriteWithRetryAsync(connection, polls);
            foreach (var f in flushes)
            {
                f.TrySetResult();
            }

            polls.Clear();
            flushes.Clear();
        }
    }

    private async Task WriteWithRetryAsync(SqliteConnection connection, List<PollRecord> polls)
    {
        if (polls.Count == 0)
        {
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Write(connection, polls);
                return;
            }
            catch (SqliteException e)
            {
                Interlocked.Increment(ref _writeFailures);
                // While running, keep the batch and retry: samples wait here and new polls wait in the bounded
                // queue. At shutdown, give up after a few tries rather than hang the stop.
                if (_stopping && attempt >= 3)
                {
                    Interlocked.Add(ref _pollsDropped, polls.Count);
                    LogDroppedAtShutdown(_log, e, polls.Count, attempt);
                    return;
                }

                LogWriteFailed(_log, e, polls.Count, attempt);
                await Task.Delay(TimeSpan.FromSeconds(1), _time);
            }
        }
    }

    private void Write(SqliteConnection connection, List<PollRecord> polls)
    {
        var created = new List<(string, string)>();
        using var tx = connection.BeginTransaction();
        try
        {
            using var insertPoll = connection.CreateCommand();
            insertPoll.Transaction = tx;
            insertPoll.CommandText = PollsTable.Insert;
            var pSource = insertPoll.Parameters.Add("$source", SqliteType.Text);
            var pTs = insertPoll.Parameters.Add("$ts", SqliteType.Integer);
            var pDuration = insertPoll.Parameters.Add("$duration", SqliteType.Real);
            var pOutcome = insertPoll.Parameters.Add("$outcome", SqliteType.Text);
            var pReason = insertPoll.Parameters.Add("$reason", SqliteType.Text);
            insertPoll.Prepare();

            using var insertSample = connection.CreateCommand();
            insertSample.Transaction = tx;
            insertSample.CommandText = SamplesTable.Insert;
            var sSeries = insertSample.Parameters.Add("$series", SqliteType.Integer);
            var sTs = insertSample.Parameters.Add("$ts", SqliteType.Integer);
            var sValue = insertSample.Parameters.Add("$value", SqliteType.Real);
            insertSample.Prepare();

            long samples = 0;
            foreach (var poll in polls)
            {
                pSource.Value = poll.Source;
                pTs.Value = poll.TimestampMs;
                pDuration.Value = poll.DurationSeconds * 1000;
                pOutcome.Value = poll.Success ? "success" : "failure";
                pReason.Value = (object?)poll.Reason ?? DBNull.Value;
                insertPoll.ExecuteNonQuery();

                foreach (var sample in poll.Samples)
                {
                    // SQLite stores NaN as NULL; a non-finite sample carries no information worth a failed batch.
                    if (!double.IsFinite(sample.Value))
                    {
                        continue;
                    }

                    var key = (poll.Source, sample.Signal);
                    if (!_seriesIds.TryGetValue(key, out var id))
                    {
                        id = SeriesTable.GetOrCreate(connection, tx, poll.Source, sample.Signal);
                        _seriesIds[key] = id;
                        created.Add(key);
                    }

                    sSeries.Value = id;
                    sTs.Value = poll.TimestampMs;
                    sValue.Value = sample.Value;
                    insertSample.ExecuteNonQuery();
                    samples++;
                }
            }

            tx.Commit();
            Interlocked.Add(ref _samplesWritten, samples);
            Interlocked.Add(ref _pollsWritten, polls.Count);
            Interlocked.Increment(ref _batches);
        }
        catch
        {
            // Series created in a rolled-back transaction do not exist.
            foreach (var key in created)
            {
                _seriesIds.Remove(key);
            }

            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropped {Polls} polls at shutdown: the database refused them {Attempts} times")]
    private static partial void LogDroppedAtShutdown(ILogger log, Exception e, int polls, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing {Polls} polls to the database failed (attempt {Attempt}); retrying in 1 s")]
    private static partial void LogWriteFailed(ILogger log, Exception e, int polls, int attempt);
}
