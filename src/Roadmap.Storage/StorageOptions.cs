namespace Roadmap.Storage;

/// <summary>Where and how samples are stored.</summary>
public sealed class StorageOptions
{
    /// <summary>The default database path, relative to the working directory.</summary>
    public const string DefaultPath = "data/roadmap.db";

    /// <summary>The SQLite file. Default <c>data/roadmap.db</c>; its folder is created.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>Poll records the writer queues at most before it drops (and counts) new ones. Default 65,536.</summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Samples written in one transaction at most. Default 10,000.</summary>
    public int MaxBatchSamples { get; set; } = 10_000;

    /// <summary>How long the writer gathers polls before it commits them; the most a crash can lose. Default 500 ms.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
