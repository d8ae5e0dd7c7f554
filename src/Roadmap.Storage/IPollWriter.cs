using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage;

/// <summary>
/// Where polls go to be stored: a bounded queue in front of batched commits (<see cref="BatchedWriter"/> is the one
/// implementation, shared by every backend). Queuing never waits for the store; the counters and the health are what
/// the metrics, <c>/readyz</c> and the shutdown log report.
/// </summary>
public interface IPollWriter : IAsyncDisposable
{
    /// <summary>Samples committed so far.</summary>
    long SamplesWritten { get; }

    /// <summary>Polls committed so far.</summary>
    long PollsWritten { get; }

    /// <summary>Polls dropped because the queue was full, or because the store refused them at shutdown.</summary>
    long PollsDropped { get; }

    /// <summary>Failed batch commits (each is retried).</summary>
    long WriteFailures { get; }

    /// <summary>Transactions committed so far.</summary>
    long Batches { get; }

    /// <summary>The wall time the write loop has spent working so far, by step: how close the writer is to saturated.</summary>
    WriterBusy Busy { get; }

    /// <summary>Times the store was found lost under the running service (for SQLite: the file deleted, moved or
    /// replaced); each is counted once, and writing continues where the store is opened again.</summary>
    long FilesLost { get; }

    /// <summary>Polls waiting to be written; -1 when the queue cannot count.</summary>
    int QueueLength { get; }

    /// <summary>Whether commits go through: <see cref="StorageHealth.Ok"/> after a successful one, else why the last failed.</summary>
    StorageHealth Health { get; }

    /// <summary>The last commit failure's cause and message while <see cref="Health"/> is not Ok; null when Ok.</summary>
    string? LastError { get; }

    /// <summary>The store's bytes on disk (<see cref="IRoadmapStorage.SizeBytes"/>).</summary>
    long DatabaseBytes { get; }

    /// <summary>The memory the store's library holds in this process (<see cref="IRoadmapStorage.MemoryBytes"/>).</summary>
    long? StoreMemoryBytes { get; }

    /// <summary>Rows removed by retention so far.</summary>
    long RowsPruned { get; }

    /// <summary>Chunks written by compaction so far (each seals a closed hour or UTC day of one series).</summary>
    long ChunksSealed { get; }

    /// <summary>Hot samples moved into chunks by compaction so far.</summary>
    long SamplesSealed { get; }

    /// <summary>The last compaction sweep that sealed anything, once it ended; null before one has.</summary>
    CompactionSweep? LastSweep { get; }

    /// <summary>Whether the write loop runs (started and not stopped).</summary>
    bool IsRunning { get; }

    /// <summary>Starts the write loop; a second call does nothing.</summary>
    void Start();

    /// <summary>Queues a poll; false (and counted in <see cref="PollsDropped"/>) when the queue is full or the writer is stopping.</summary>
    bool TryEnqueue(PollRecord poll);

    /// <summary>Completes when every poll queued before the call is committed.</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends KPI evaluations to the history on the writer's own connection, in a transaction of their own between
    /// batches, and waits until they are committed (<see cref="BatchedWriter.AppendEvaluations"/>).
    /// </summary>
    /// <returns>False when the writer is not running: nothing was written.</returns>
    /// <exception cref="StorageException">Nothing was written.</exception>
    bool AppendEvaluations(IReadOnlyCollection<KpiEvaluation> evaluations);
}

/// <summary>
/// The wall time the writer's loop has spent in each kind of work since it started; whatever is not here it spent
/// waiting for polls or for the flush interval to end. Their sum's rate is the writer's busy share: near 1, polls
/// arrive faster than they are written, the queue grows, and once it is full new polls are dropped.
/// </summary>
/// <param name="Batches">Committing batches of polls and samples, failed attempts (and their lock waits) included, and
/// the evaluation history's appends (<see cref="IPollWriter.AppendEvaluations"/>).</param>
/// <param name="Rollups">Closing hours that ended into their day rollups, in transactions of their own.</param>
/// <param name="Retention">Retention steps: deleting rows older than their tier keeps.</param>
/// <param name="Compaction">Compaction steps: sealing closed hours and days of hot samples into chunks.</param>
/// <param name="Cpu">The CPU time the writer's thread used in all four; null where it cannot be read (not Linux). Well
/// below their sum, the writer waits while it works: for a core (more runnable threads than cores), the disk, or a
/// lock; near it, the work itself is the cost.</param>
public readonly record struct WriterBusy(TimeSpan Batches, TimeSpan Rollups, TimeSpan Retention, TimeSpan Compaction, TimeSpan? Cpu = null);
