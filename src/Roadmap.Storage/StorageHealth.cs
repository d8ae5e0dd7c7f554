namespace Roadmap.Storage;

/// <summary>Whether the writer's commits go through, and if not, why (see <see cref="IPollWriter.Health"/>).</summary>
public enum StorageHealth
{
    /// <summary>The last commit succeeded.</summary>
    Ok,

    /// <summary>Another process holds the write lock for longer than the busy timeout (for SQLite: SQLITE_BUSY / SQLITE_LOCKED).</summary>
    Locked,

    /// <summary>The disk (or the file system quota) is full (for SQLite: SQLITE_FULL).</summary>
    DiskFull,

    /// <summary>Any other failure: an I/O error, a read-only or corrupt file, ...</summary>
    Failing,

    /// <summary>
    /// The database file (or its write-ahead log) was deleted, moved or replaced under the running service, and no
    /// database could be opened at its path yet (e.g. its folder is gone). Polls wait in the queue meanwhile.
    /// </summary>
    FileLost,

    /// <summary>
    /// The database server cannot be reached (for PostgreSQL: connection refused, reset or timed out, the server shutting
    /// down). Polls wait in the queue and the write is retried until the server answers again.
    /// </summary>
    Unreachable,
}

/// <summary>Names of <see cref="StorageHealth"/>; each backend maps its own failures to them (<see cref="StorageException.Health"/>).</summary>
public static class StorageHealths
{
    public static readonly IReadOnlyList<StorageHealth> All = [StorageHealth.Ok, StorageHealth.Locked, StorageHealth.DiskFull, StorageHealth.Failing, StorageHealth.FileLost, StorageHealth.Unreachable];

    /// <summary>The metric label: ok, locked, disk_full, failing, file_lost, unreachable.</summary>
    public static string Label(this StorageHealth health) => health switch
    {
        StorageHealth.Ok => "ok",
        StorageHealth.Locked => "locked",
        StorageHealth.DiskFull => "disk_full",
        StorageHealth.FileLost => "file_lost",
        StorageHealth.Unreachable => "unreachable",
        _ => "failing",
    };
}
