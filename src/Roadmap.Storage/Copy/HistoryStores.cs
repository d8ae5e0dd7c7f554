using Roadmap.Storage.Postgres;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Copy;

/// <summary>The one place a copy's two sides are opened by backend (as <see cref="StorageBackends"/> is for the service).</summary>
public static class HistoryStores
{
    /// <summary>
    /// Opens a SQLite file to copy from, without changing it: it must exist and be a Roadmap database of this
    /// version's schema.
    /// </summary>
    /// <exception cref="StorageException">Missing, not a database, not Roadmap's, or of another schema version.</exception>
    public static IHistoryExport OpenSqliteExport(string path) => SqliteHistoryExport.Open(path);

    /// <summary>
    /// Opens (creating and migrating it if new) the store <paramref name="destination"/> names, to copy into.
    /// </summary>
    /// <param name="destination">The backend and where: a SQLite file's path, or PostgreSQL's connection string (never quoted in a message).</param>
    /// <param name="source">The source, so that copying a store into itself is refused before anything is opened.</param>
    /// <exception cref="StorageException">The same store as the source, an existing file that is not a Roadmap
    /// database, or a store that cannot be opened; nothing was changed.</exception>
    public static IHistoryImport OpenImport(StorageOptions destination, IHistoryExport source)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(source);
        return destination.Kind switch
        {
            StorageKind.Sqlite => SqliteHistoryImport.Open(destination.Path, source.Location),
            // Opened and migrated as the service opens it; a copied poll's node is PostgresHistoryImport.CopiedNode.
            _ => PostgresHistoryImport.Open(destination),
        };
    }
}
