using Roadmap.Storage.Postgres;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage;

/// <summary>The list of storage backends: the one place a backend is chosen and opened. SQLite (the default) and PostgreSQL.</summary>
public static class StorageBackends
{
    /// <summary>Opens (creating it if needed) and migrates the store <paramref name="options"/> names.</summary>
    /// <exception cref="StorageException">The store cannot be opened, is not Roadmap's, or cannot be migrated.</exception>
    public static IRoadmapStorage Open(StorageOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind == StorageKind.Postgres ? PostgresStorage.Open(options, time) : RoadmapDatabase.Open(options.Path, time);
    }
}
