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

    /// <summary>
    /// The ADO.NET provider and connection string for Quartz's clustered job store on the same database as the data:
    /// only PostgreSQL can be shared by replicas.
    /// </summary>
    /// <exception cref="StorageException">The options are not PostgreSQL's, or the connection string does not parse.</exception>
    public static (System.Data.Common.DbProviderFactory Provider, string ConnectionString) ClusterJobStore(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Kind != StorageKind.Postgres || string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new StorageException("cluster mode needs settings.storage.kind postgres with a connection string");
        }

        return PostgresStorage.JobStore(options.ConnectionString);
    }
}
