using Roadmap.Core.Config;
using Roadmap.Storage;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// The storage a verb opens: <c>settings.storage</c> names the backend; <c>--database</c> names the SQLite file and
/// means nothing for PostgreSQL, so giving it there is a usage error rather than a flag silently ignored.
/// </summary>
public static class StorageChoice
{
    /// <summary>The options to open storage with, or the reason they cannot be built (a usage error).</summary>
    /// <param name="databasePath">The <c>--database</c> value; null when it was not given.</param>
    public static StorageOptions Options(RoadmapConfig config, string? databasePath, out string? problem)
    {
        var storage = config.Settings.Storage;
        problem = null;
        if (storage.Kind == StorageConfig.Postgres)
        {
            if (databasePath is not null)
            {
                problem = "--database names the SQLite file, but settings.storage.kind is postgres: remove --database, or set kind: sqlite";
            }

            return new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = storage.ConnectionString, FlushInterval = storage.FlushEvery };
        }

        return new StorageOptions { Kind = StorageKind.Sqlite, Path = databasePath ?? StorageOptions.DefaultPath, FlushInterval = storage.FlushEvery };
    }
}
