using Microsoft.Data.Sqlite;
using Roadmap.Storage.Copy;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// A SQLite file as the source of a copy (<see cref="IHistoryExport"/>): opened without creating, migrating or writing
/// anything (the connection is query-only), after checking that it is a Roadmap database of this version's schema.
/// </summary>
internal sealed class SqliteHistoryExport : IHistoryExport
{
    private readonly SqliteHistoryReader _reader;

    private SqliteHistoryExport(string path, SqliteConnection connection)
    {
        Location = path;
        _reader = new SqliteHistoryReader(connection);
    }

    public string Location { get; }

    /// <exception cref="StorageException">Missing, not a SQLite database, not Roadmap's, or of another schema version.</exception>
    public static SqliteHistoryExport Open(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new StorageException($"no database at {full}");
        }

        var connection = OpenQueryOnly(full);
        try
        {
            var version = SchemaVersion(connection, full);
            if (version > Migrations.Latest)
            {
                throw new StorageException($"{full} has schema version {version}, newer than this Roadmap knows ({Migrations.Latest}); use a newer Roadmap");
            }

            if (version < Migrations.Latest)
            {
                throw new StorageException($"{full} has schema version {version}, older than this Roadmap's ({Migrations.Latest}); start this Roadmap's service on it once (it migrates the file on open), stop it, then copy");
            }

            return new SqliteHistoryExport(full, connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A Roadmap database's schema version, read through a query-only connection that creates nothing.
    /// </summary>
    /// <exception cref="StorageException">Not a SQLite database, or not Roadmap's (no schema_version table).</exception>
    internal static int ProbeSchemaVersion(string full)
    {
        using var connection = OpenQueryOnly(full);
        return SchemaVersion(connection, full);
    }

    private static SqliteConnection OpenQueryOnly(string full)
    {
        // Read-write (never create) rather than read-only: a read-only connection cannot open a WAL file whose
        // shared-memory index is missing. query_only makes SQLite refuse every write on it all the same.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA query_only=1; PRAGMA busy_timeout=5000;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            connection.Dispose();
            throw new StorageException($"cannot open {full}: {e.Message}", e);
        }
    }

    private static int SchemaVersion(SqliteConnection connection, string full)
    {
        try
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';";
            if ((long)cmd.ExecuteScalar()! == 0)
            {
                throw new StorageException($"{full} is not a Roadmap database (it has no schema_version table)");
            }

            cmd.CommandText = "SELECT max(version) FROM schema_version;";
            return cmd.ExecuteScalar() is long v ? (int)v : 0;
        }
        catch (SqliteException e)
        {
            throw new StorageException($"{full} is not a Roadmap database: {e.Message}", e);
        }
    }

    public IReadOnlyList<HistoryStreamId> Streams(HistoryTable table) => _reader.Streams(table);

    public long Count(HistoryTable table) => _reader.Count(table);

    public IReadOnlyList<HistoryRow> Read(HistoryStreamId stream, StreamPosition after, int limit) => _reader.Read(stream, after, limit);

    public void Dispose() => _reader.Dispose();
}
