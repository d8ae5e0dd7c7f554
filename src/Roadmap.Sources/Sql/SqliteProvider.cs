using System.Data.Common;
using Microsoft.Data.Sqlite;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Sql;

/// <summary>provider: sqlite — a database file, opened read-only unless the connection string names a Mode.</summary>
internal sealed class SqliteProvider : ISqlProvider
{
    public string Name => "sqlite";

    public string? Problem(string connectionString) => SqlConnectionStrings.Problem(connectionString, new SqliteConnectionStringBuilder());

    public ISqlDatabase Database(string connectionString, TimeSpan timeout, NetworkPolicy network) => new SqliteDatabase(connectionString);

    private sealed class SqliteDatabase : ISqlDatabase
    {
        private readonly string _connectionString;

        public SqliteDatabase(string connectionString)
        {
            var builder = new SqliteConnectionStringBuilder(connectionString);
            // A typo in a path must not create an empty database: read-only unless the config names a Mode.
            if (!new DbConnectionStringBuilder { ConnectionString = connectionString }.ContainsKey("Mode"))
            {
                builder.Mode = SqliteOpenMode.ReadOnly;
            }

            _connectionString = builder.ToString();
        }

        public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            var connection = new SqliteConnection(_connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }

        // Microsoft.Data.Sqlite does not stop a running statement on cancellation; sqlite3_interrupt does.
        public IDisposable? StopOnCancel(DbConnection connection, CancellationToken cancellationToken) =>
            cancellationToken.Register(() => SQLitePCL.raw.sqlite3_interrupt(((SqliteConnection)connection).Handle));

        public bool IsTimeout(Exception e) => e is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_INTERRUPT };

        public string? Reason(Exception e) => e is SqliteException ? $"query failed: {e.Message}" : null;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
