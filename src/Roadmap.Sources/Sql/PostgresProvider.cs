using System.Data.Common;
using System.Net.Sockets;
using Npgsql;
using Roadmap.Sources.Network;

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

    public ISqlDatabase Database(string connectionString, TimeSpan timeout, NetworkPolicy network)
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

        return new PostgresDatabase(NpgsqlDataSource.Create(builder), network, Hosts(builder.Host));
    }

    /// <summary>
    /// The network hosts of a Host keyword: <c>db1,db2:5433,[::1]:5432</c> gives db1, db2 and ::1. Unix socket
    /// directories (<c>/var/run/postgresql</c>, abstract <c>@name</c>) are no network address and are left out.
    /// </summary>
    internal static IReadOnlyList<string> Hosts(string? hostKeyword)
    {
        var hosts = new List<string>();
        foreach (var part in (hostKeyword ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith('/') || part.StartsWith('@'))
            {
                continue;
            }

            var close = part.IndexOf(']', StringComparison.Ordinal);
            var host = part.StartsWith('[') && close > 0 ? part[1..close]
                : part.Count(c => c == ':') == 1 ? part[..part.IndexOf(':', StringComparison.Ordinal)]
                : part;
            hosts.Add(host);
        }

        return hosts;
    }

    /// <remarks>
    /// Npgsql takes no connect callback: the hosts are resolved and checked here, and Npgsql then resolves them
    /// again to connect. A name whose DNS answer changes between the two lookups (DNS rebinding) can slip past the
    /// deny list; an IP literal in Host cannot. The http and API kinds, which connect through the checked address
    /// itself, have no such gap.
    /// </remarks>
    private sealed class PostgresDatabase(NpgsqlDataSource dataSource, NetworkPolicy network, IReadOnlyList<string> hosts) : ISqlDatabase
    {
        public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            foreach (var host in hosts)
            {
                // Npgsql may connect to any address of the host: one denied address refuses the whole host.
                await network.EnsureAllAllowedAsync(host, cancellationToken);
            }

            return await dataSource.OpenConnectionAsync(cancellationToken);
        }

        // Npgsql cancels by itself: it sends the server a cancel request, so the query stops there too.
        public IDisposable? StopOnCancel(DbConnection connection, CancellationToken cancellationToken) => null;

        // Npgsql's own timeouts (CommandTimeout, Timeout) surface as an NpgsqlException around a TimeoutException.
        public bool IsTimeout(Exception e) => e is NpgsqlException && NetworkErrors.FindInner<TimeoutException>(e) is not null;

        public string? Reason(Exception e) => e switch
        {
            NetworkDeniedException => e.Message,
            SocketException s => Describe(s),
            // Class 28: invalid authorization specification (28P01: wrong password or unknown user).
            PostgresException p when p.SqlState.StartsWith("28", StringComparison.Ordinal) => $"authentication failed: {p.MessageText}",
            // MessageText, not Message: Message adds the detail lines (POSITION: ...) on lines of their own.
            PostgresException p => $"query failed: {p.SqlState}: {p.MessageText}",
            NpgsqlException n when NetworkErrors.FindInner<SocketException>(n) is { } socket => Describe(socket),
            NpgsqlException n => $"query failed: {n.Message}",
            _ => null,
        };

        public ValueTask DisposeAsync() => dataSource.DisposeAsync();

        private static string Describe(SocketException socket) => NetworkErrors.Describe(socket);
    }
}
