namespace Roadmap.Storage;

/// <summary>Where and how samples are stored.</summary>
public sealed class StorageOptions
{
    /// <summary>The default database path, relative to the working directory.</summary>
    public const string DefaultPath = "data/roadmap.db";

    /// <summary>The SQLite file. Default <c>data/roadmap.db</c>; its folder is created.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>Which backend stores the data. Default <see cref="StorageKind.Sqlite"/> (the file at <see cref="Path"/>).</summary>
    public StorageKind Kind { get; set; } = StorageKind.Sqlite;

    /// <summary>
    /// The PostgreSQL connection string (keyword form) when <see cref="Kind"/> is <see cref="StorageKind.Postgres"/>;
    /// a secret: never logged, never in an error message. Ignored for SQLite.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The name of this process in stored polls (the node that ran them), so a cluster's polls can be audited per node.
    /// Default: the host name.
    /// </summary>
    public string Node { get; set; } = Environment.MachineName;

    /// <summary>Poll records the writer queues at most before it drops (and counts) new ones. Default 65,536.</summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// Samples written in one transaction at most; a flush also starts early once this many are waiting. Default 200,000:
    /// a saturated writer commits big batches, and big sorted batches are what makes the (series, ts) table fast.
    /// </summary>
    public int MaxBatchSamples { get; set; } = 200_000;

    /// <summary>
    /// The writer connection's SQLite page cache, in bytes. Default 16 MiB: enough for the last pages of every series a
    /// big sorted batch touches, while the cache (resident memory once filled) stays a small part of the process.
    /// </summary>
    public int PageCacheBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// How often the writer rewrites the rollup row of an hour that is still filling, where the backend reads past it
    /// (<see cref="IRoadmapStorage.ReadsPastHourRollups"/>, SQLite). Default 60 s. Each batch rewrote every open hour
    /// it touched: a row and a quantile sketch of up to about a kilobyte per series, twice a second. An hour's row is
    /// still written with its first samples, when the hour ends or closes, and at a stop; readers read the samples
    /// stored after a row raw, so no read misses a sample. Each series' interval is stretched by up to as much again
    /// (by its id), so that series that began together do not all come due in one batch. Zero: with every batch.
    /// </summary>
    public TimeSpan OpenHourRollupEvery { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the writer gathers polls before it commits them; the most a crash can lose. Default 500 ms
    /// (<c>settings.storage.flushEvery</c>).</summary>
    public TimeSpan FlushInterval { get; set; } = Roadmap.Core.Config.StorageConfig.DefaultFlushEvery;

    /// <summary>How long a commit waits for another process's lock before it fails and is retried. Default 5 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The first wait after a failed commit; doubled per failure up to <see cref="MaxRetryDelay"/>. Default 250 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between retries of a failed commit. Default 10 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long raw samples and polls are kept (<c>settings.retention.raw</c>). Default 35 days.</summary>
    public TimeSpan RawRetention { get; set; } = TimeSpan.FromDays(35);

    /// <summary>How long hour and day rollups are kept (<c>settings.retention.rollups</c>). Default 400 days.</summary>
    public TimeSpan RollupRetention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>Rows deleted per retention transaction at most. Default 5,000.</summary>
    public int PruneBatchRows { get; set; } = 5_000;

    /// <summary>The pause between retention sweeps once one has found everything. Default 10 minutes.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long after its end an hour or a UTC day is sealed into a chunk (compact history): polls that arrive later
    /// than this still count (they wait in the hot table and the range is sealed again), but cost a second seal.
    /// Default 5 minutes.
    /// </summary>
    public TimeSpan CompactGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The pause between compaction sweeps once one has sealed everything closed. Default 5 minutes.</summary>
    public TimeSpan CompactInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Samples one compaction transaction reads and seals at most (plus the one range that crosses the mark), so the
    /// writer is never held long. Default 50,000.
    /// </summary>
    public int CompactBatchSamples { get; set; } = 50_000;
}

/// <summary>The storage backends.</summary>
public enum StorageKind
{
    /// <summary>One embedded SQLite file (the default).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database.</summary>
    Postgres,
}
