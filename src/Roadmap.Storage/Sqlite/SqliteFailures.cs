using Microsoft.Data.Sqlite;

namespace Roadmap.Storage.Sqlite;

/// <summary>What the SQLite backend's failures mean, and their translation into the one <see cref="StorageException"/>.</summary>
internal static class SqliteFailures
{
    /// <summary>
    /// Whether an exception is a failure of the store (and is wrapped): SQLite's own, the file system's, and what
    /// Microsoft.Data.Sqlite or a sketch decoder throw for a broken connection or a corrupt row.
    /// </summary>
    public static bool IsStoreFailure(Exception e) =>
        e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException or FormatException;

    /// <summary>Runs a read or write of the store; its failure leaves as a <see cref="StorageException"/>.</summary>
    public static T Run<T>(Func<T> action) => StoreCalls.Run(action, IsStoreFailure, Wrap);

    /// <inheritdoc cref="Run{T}(Func{T})"/>
    public static void Run(Action action) => StoreCalls.Run(() => { action(); return 0; }, IsStoreFailure, Wrap);

    /// <summary>The failure as a <see cref="StorageException"/> with its health state; its message stays the driver's.</summary>
    public static StorageException Wrap(Exception e)
    {
        if (e is StorageException s)
        {
            return s;
        }

        var (health, cause) = Classify(e);
        return new StorageException(e.Message, e, health, cause);
    }

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
            IOException => (StorageHealth.Failing, "I/O error"),
            UnauthorizedAccessException => (StorageHealth.Failing, "permission denied"),
            _ => (StorageHealth.Failing, "unexpected error"),
        };
}
