namespace Roadmap.Storage;

/// <summary>
/// An opened store, migrated and ready: what the worker reads and writes through, whatever the backend. The worker
/// holds this and the interfaces it hands out, never a backend's own types; a backend is one folder
/// (<c>Sqlite/</c>) behind them, opened by <see cref="StorageBackends.Open"/>.
/// </summary>
/// <remarks>
/// Every member and every object it hands out reports a failure of the store as a <see cref="StorageException"/>
/// (its <see cref="StorageException.Health"/> says what kind); no driver exception leaves a backend.
/// </remarks>
public interface IRoadmapStorage
{
    /// <summary>Where the data is, for messages and logs: the SQLite file's full path. Never holds a secret.</summary>
    string Location { get; }

    /// <summary>The schema version after migration.</summary>
    int SchemaVersion { get; }

    /// <summary>Reads of stored samples, window summaries and polls. Thread-safe.</summary>
    ISampleReader Samples { get; }

    /// <summary>The KPI evaluation history and the computed baselines. Thread-safe.</summary>
    IEvaluationStore Evaluations { get; }

    /// <summary>What the scheduled updates covered and how each ended. Thread-safe.</summary>
    IUpdateStore Updates { get; }

    /// <summary>What cluster replicas agree on through this store; null for a backend that cannot be shared (SQLite).</summary>
    IClusterStore? Cluster => null;

    /// <summary>The bytes the store takes on disk (for SQLite: the main file and its write-ahead log); 0 when unknown.</summary>
    long SizeBytes();

    /// <summary>The memory the backend's library holds in this process (SQLite: every connection's page cache, its
    /// statements and schema, from <c>sqlite3_memory_used</c>); null for a backend that keeps its data elsewhere
    /// (PostgreSQL).</summary>
    long? MemoryBytes => null;

    /// <summary>
    /// Whether this backend's readers take an hour rollup as complete only up to its last sample, reading the samples
    /// stored after it raw (SQLite): the writer may then rewrite an open hour's rollup row only every
    /// <see cref="StorageOptions.OpenHourRollupEvery"/> instead of with every batch. False (PostgreSQL): every batch
    /// rewrites the rows it touched, as its readers take a whole hour's row as the whole hour.
    /// </summary>
    bool ReadsPastHourRollups => false;

    /// <summary>
    /// The backend's half of the one writer (<see cref="BatchedWriter"/>): a connection of its own with its
    /// statements, transactions and retention. Opened once by the writer's loop and used from that loop only.
    /// </summary>
    /// <param name="options">The batch, timeout and retention settings.</param>
    /// <param name="time">The clock retention judges ages by.</param>
    /// <exception cref="StorageException">No connection can be opened.</exception>
    IStorageWriteSession OpenWriteSession(StorageOptions options, TimeProvider time);
}
