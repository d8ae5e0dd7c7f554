using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Copy;

/// <summary>The one place a copy's two sides are opened by backend (as <see cref="StorageBackends"/> is for the service).</summary>
public static class HistoryStores
{
    /// <summary>What a destination whose import is not built in says (the <c>copy-storage</c> verb exits 2 with it).</summary>
    public const string PostgresUnavailable = "PostgreSQL destination not available in this build";

    /// <summary>
    /// Opens a SQLite file to copy from, without changing it: it must exist and be a Roadmap database of this
    /// version's schema.
    /// </summary>
    /// <exception cref="StorageException">Missing, not a database, not Roadmap's, or of another schema version.</exception>
    public static IHistoryExport OpenSqliteExport(string path) => SqliteHistoryExport.Open(path);

    /// <summary>
    /// Opens (creating and migrating it if new) the store <paramref name="destination"/> names, to copy into.
    /// </summary>
    /// <param name="destination">The backend and where: a SQLite file's path, or PostgreSQL's connection string.</param>
    /// <param name="source">The source, so that copying a store into itself is refused before anything is opened.</param>
    /// <exception cref="StorageException">The same store as the source, an existing file that is not a Roadmap
    /// database, or a store that cannot be opened; nothing was changed.</exception>
    /// <exception cref="NotSupportedException">The backend has no import in this build (<see cref="PostgresUnavailable"/>).</exception>
    public static IHistoryImport OpenImport(StorageOptions destination, IHistoryExport source)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(source);
        return destination.Kind switch
        {
            StorageKind.Sqlite => SqliteHistoryImport.Open(destination.Path, source.Location),
            // The PostgreSQL backend's import goes here.
            _ => throw new NotSupportedException(PostgresUnavailable),
        };
    }
}
