using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage;

/// <summary>The list of storage backends: the one place a backend is chosen and opened. SQLite is the only one so far.</summary>
public static class StorageBackends
{
    /// <summary>Opens (creating it if needed) and migrates the store <paramref name="options"/> names.</summary>
    /// <exception cref="StorageException">The store cannot be opened, is not Roadmap's, or cannot be migrated.</exception>
    public static IRoadmapStorage Open(StorageOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RoadmapDatabase.Open(options.Path, time);
    }
}
