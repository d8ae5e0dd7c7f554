using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace Roadmap.Sources.Sql;

/// <summary>
/// provider: postgres — a PostgreSQL server through Npgsql. A fresh connection per poll unless the connection string
/// names Pooling (like the http kind: a pooled connection would hide a server that stopped accepting connections, and
/// would sit idle on the server between polls); the connect timeout is the source's timeout unless it names Timeout.
/// </summary>
internal sealed class PostgresProvider : ISqlProvider
{
    public string Name => "postgres";

    public string? Problem(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        if (SqlConnectionStrings.Problem(connectionString, builder) is { } problem)
        {
            return problem;
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            return "keyword 'host' is required (the server's name or address, e.g. Host=db.example.com;Database=shop;Username=roadmap)";
        }

        try
        {
            // Npgsql's own checks across keywords (e.g. Multiplexing needs Pooling). Nothing connects yet.
            using var dataSource = NpgsqlDataSource.Create(connectionString);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return SqlConnectionStrings.Safe(e.Message, connectionString, "the keywords do not fit together");
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            // Host=name:port with a bad port.
            return "bad port in keyword 'host'";
        }
    }

    public ISqlDatabase Database(string connectionString, TimeSpan timeout)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var named = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!named.ContainsKey("Pooling"))
        {
            builder.Pooling = false;
        }

        if (!named.ContainsKey("Timeout"))
        {
            builder.Timeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        }

        return new PostgresDatabase(NpgsqlDataSource.Create(builder));
    }

    private sealed class PostgresDatabase(NpgsqlDataSource dataSource) : ISqlDatabase
    {
        public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
            await dataSource.OpenConnectionAsync(cancellationToken);

        // Npgsql cancels by itself: it sends the server a cancel request, so the query stops there too.
        public IDisposable? StopOnCancel(DbConnection connection, CancellationToken cancellationToken) => null;

        // Npgsql's own timeouts (CommandTimeout, Timeout) surface as an NpgsqlException around a TimeoutException.
        public bool IsTimeout(Exception e) => e is NpgsqlException && NetworkErrors.FindInner<TimeoutException>(e) is not null;

        public string? Reason(Exception e) => e switch
        {
            // Class 28: invalid authorization specification (28P01: wrong password or unknown user).
            PostgresException p when p.SqlState.StartsWith("28", StringComparison.Ordinal) => $"authentication failed: {p.MessageText}",
            // MessageText, not Message: Message adds the detail lines (POSITION: ...) on lines of their own.
            PostgresException p => $"query failed: {p.SqlState}: {p.MessageText}",
            NpgsqlException n when NetworkErrors.FindInner<SocketException>(n) is { } socket => Describe(socket),
            NpgsqlException n => $"query failed: {n.Message}",
            _ => null,
        };

        public ValueTask DisposeAsync() => dataSource.DisposeAsync();

        private static string Describe(SocketException socket) => socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"DNS lookup failed: {socket.Message}",
            SocketError.ConnectionReset => "connection reset by peer",
            SocketError.TimedOut => "connect timed out",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => $"unreachable: {socket.Message}",
            _ => $"connection failed: {socket.Message}",
        };
    }
}
