using Microsoft.Data.Sqlite;

namespace Roadmap.Storage;

/// <summary>Whether the writer's commits go through, and if not, why (see <see cref="BatchedWriter.Health"/>).</summary>
public enum StorageHealth
{
    /// <summary>The last commit succeeded.</summary>
    Ok,

    /// <summary>Another process holds the database lock (SQLITE_BUSY / SQLITE_LOCKED) for longer than the busy timeout.</summary>
    Locked,

    /// <summary>The disk (or the file system quota) is full (SQLITE_FULL).</summary>
    DiskFull,

    /// <summary>Any other failure: an I/O error, a read-only or corrupt file, ...</summary>
    Failing,

    /// <summary>
    /// The database file (or its write-ahead log) was deleted, moved or replaced under the running service, and no
    /// database could be opened at its path yet (e.g. its folder is gone). Polls wait in the queue meanwhile.
    /// </summary>
    FileLost,
}

/// <summary>Names and classification of <see cref="StorageHealth"/>.</summary>
public static class StorageHealths
{
    public static readonly IReadOnlyList<StorageHealth> All = [StorageHealth.Ok, StorageHealth.Locked, StorageHealth.DiskFull, StorageHealth.Failing, StorageHealth.FileLost];

    /// <summary>The metric label: ok, locked, disk_full, failing, file_lost.</summary>
    public static string Label(this StorageHealth health) => health switch
    {
        StorageHealth.Ok => "ok",
        StorageHealth.Locked => "locked",
        StorageHealth.DiskFull => "disk_full",
        StorageHealth.FileLost => "file_lost",
        _ => "failing",
    };

    /// <summary>What a failed commit means for an operator: the state and a short description of the cause.</summary>
    public static (StorageHealth Health, string Cause) Classify(Exception e) => e is SqliteException s
        ? (s.SqliteErrorCode & 0xFF) switch
        {
            5 or 6 => (StorageHealth.Locked, "database locked by another process"),
            13 => (StorageHealth.DiskFull, "disk full"),
            10 => (StorageHealth.Failing, "I/O error"),
            8 => (StorageHealth.Failing, "database is read-only"),
            11 or 26 => (StorageHealth.Failing, "database file is corrupt"),
            _ => (StorageHealth.Failing, "database error"),
        }
        : e switch
        {
            DatabaseFileLostException => (StorageHealth.FileLost, "database file lost"),
            IOException => (StorageHealth.Failing, "I/O error"),
            UnauthorizedAccessException => (StorageHealth.Failing, "permission denied"),
            _ => (StorageHealth.Failing, "unexpected error"),
        };
}
