using Dapper;
using Microsoft.Data.Sqlite;

namespace Roadmap.Storage;

/// <summary>
/// The SQLite file: opened in WAL mode, created and migrated on open. Migrations only ever add; none drops data.
/// Connections are cheap (Microsoft.Data.Sqlite pools them); the writer keeps one, readers open their own.
/// </summary>
public sealed class RoadmapDatabase
{
    private RoadmapDatabase(string path, string connectionString)
    {
        Path = path;
        ConnectionString = connectionString;
    }

    public string Path { get; }

    public string ConnectionString { get; }

    /// <summary>The schema version after migration.</summary>
    public int SchemaVersion { get; private set; }

    /// <summary>Opens (creating the file and its folder if needed) and migrates the database.</summary>
    /// <exception cref="StorageException">The file cannot be opened, is not a database, or cannot be migrated.</exception>
    public static RoadmapDatabase Open(string path, TimeProvider? time = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            if (System.IO.Path.GetDirectoryName(full) is { Length: > 0 } dir)
            {
                Directory.CreateDirectory(dir);
            }

            var cs = new SqliteConnectionStringBuilder
            {
                DataSource = full,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
            var db = new RoadmapDatabase(full, cs);
            using var connection = db.OpenConnection();
            // WAL lets readers (evaluation, API) run while the writer commits; NORMAL in WAL is durable up to the
            // last checkpoint-free commit on power loss and fully safe on process crash.
            connection.Execute("PRAGMA journal_mode=WAL;");
            db.SchemaVersion = Migrations.Apply(connection, time ?? TimeProvider.System);
            return db;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot open the database {full}: {e.Message}", e);
        }
    }

    /// <summary>Bytes on disk: the main file plus its write-ahead log (0 for a file that is missing).</summary>
    public long SizeBytes()
    {
        static long Size(string path)
        {
            try
            {
                var info = new FileInfo(path);
                return info.Exists ? info.Length : 0;
            }
            catch (IOException)
            {
                return 0;
            }
        }

        return Size(Path) + Size(Path + "-wal");
    }

    /// <summary>An open connection with the per-connection settings applied.</summary>
    public SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        connection.Execute("PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
        return connection;
    }
}

/// <summary>A storage failure with a message fit for an operator.</summary>
public sealed class StorageException(string message, Exception? inner = null) : Exception(message, inner);
