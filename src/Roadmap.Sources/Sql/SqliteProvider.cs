using System.Data.Common;
using Microsoft.Data.Sqlite;
using Roadmap.Sources.Network;
using SQLitePCL;

namespace Roadmap.Sources.Sql;

/// <summary>
/// provider: sqlite — a database file, only ever read. Each poll opens its own connection and closes it (no pool), so
/// nothing a query does outlives its poll; the file is opened read-only; and SQLite's authorizer lets a statement do
/// nothing but read (<see cref="ReadOnlyAuthorizer"/>), so no query can create or change a file or leave a
/// transaction open.
/// </summary>
internal sealed class SqliteProvider : ISqlProvider
{
    public string Name => "sqlite";

    public string? Problem(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder();
        if (SqlConnectionStrings.Problem(connectionString, builder) is { } problem)
        {
            return problem;
        }

        var named = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (named.ContainsKey("Mode") && builder.Mode != SqliteOpenMode.ReadOnly)
        {
            return "keyword 'mode' must be ReadOnly: the sql source only reads";
        }

        if (named.ContainsKey("Pooling") && builder.Pooling)
        {
            return "keyword 'pooling' must be false: the sql source opens a fresh connection per poll";
        }

        return null;
    }

    public string? TlsProblem(string connectionString) => "tls is for provider postgres; sqlite opens a local file";

    public ISqlDatabase Database(string connectionString, TimeSpan timeout, NetworkPolicy network, TlsClient? tls) => new SqliteDatabase(connectionString);

    private sealed class SqliteDatabase : ISqlDatabase
    {
        // One delegate for every connection: the provider keeps it (and the user data) alive with the connection, and
        // a static method holds nothing that native code could outlive.
        private static readonly delegate_authorizer Authorizer = ReadOnlyAuthorizer.Authorize;

        private readonly string _connectionString;

        /// <summary>What the authorizer refused in the current poll; polls of one source never overlap.</summary>
        private readonly ReadOnlyAuthorizer _refusals = new();

        public SqliteDatabase(string connectionString)
        {
            // Read-only, so a typo in a path never creates an empty database and a gap in the authorizer still cannot
            // write; no pool, so a connection (and whatever a query left on it) dies with its poll.
            _connectionString = new SqliteConnectionStringBuilder(connectionString) { Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        }

        public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            var connection = new SqliteConnection(_connectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                _refusals.Clear();
                var rc = raw.sqlite3_set_authorizer(connection.Handle, Authorizer, _refusals);
                if (rc != raw.SQLITE_OK)
                {
                    // Never query without the guard.
                    throw new SqliteException($"SQLite Error {rc}: cannot install the read-only authorizer", rc);
                }

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
            cancellationToken.Register(() => raw.sqlite3_interrupt(((SqliteConnection)connection).Handle));

        public bool IsTimeout(Exception e) => e is SqliteException { SqliteErrorCode: raw.SQLITE_INTERRUPT };

        public string? Reason(Exception e) => e switch
        {
            SqliteException when _refusals.Refused is { } refused => $"query failed: the sql source only reads: {refused} is not allowed",
            SqliteException => $"query failed: {e.Message}",
            _ => null,
        };

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
