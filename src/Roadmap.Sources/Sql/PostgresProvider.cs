using System.Data.Common;
using System.Net.Security;
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

    /// <summary>The connection string keywords a tls block replaces: TLS is set in one place.</summary>
    private static readonly string[] TlsKeywords = ["SSL Mode", "Root Certificate", "SSL Certificate", "SSL Key", "SSL Password", "Trust Server Certificate"];

    public string? TlsProblem(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        if (SqlConnectionStrings.Problem(connectionString, builder) is not null)
        {
            return null;
        }

        var named = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var both = TlsKeywords.Where(k => named.ContainsKey(k) || named.ContainsKey(k.Replace(" ", "", StringComparison.Ordinal))).ToList();
        return both.Count == 0 ? null : $"set TLS either in tls or in the connection string ({string.Join(", ", both)}), not both";
    }

    public ISqlDatabase Database(string connectionString, TimeSpan timeout, NetworkPolicy network, TlsClient? tls)
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

        var trace = new TraceHolder();
        if (tls is null)
        {
            return new PostgresDatabase(NpgsqlDataSource.Create(builder), network, Hosts(builder.Host), trace);
        }

        // TLS required, and checked by the tls block (TlsClient: its CA, client certificate, server name, versions),
        // not by Npgsql's modes: Require alone checks nothing, and the block says what to check.
        builder.SslMode = SslMode.Require;
        var source = new NpgsqlDataSourceBuilder(builder.ConnectionString);
        source.UseSslClientAuthenticationOptionsCallback(options =>
        {
            trace.Current = new ConnectionTrace();
            Apply(tls.Options(options.TargetHost ?? "", trace.Current), options);
        });
        return new PostgresDatabase(source.Build(), network, Hosts(builder.Host), trace);
    }

    /// <summary>
    /// Puts what the tls block decides into the options Npgsql hands over: the name checked, the versions, the check and
    /// the client certificate; Npgsql's own certificate settings are cleared, so only the block's apply.
    /// </summary>
    internal static void Apply(SslClientAuthenticationOptions from, SslClientAuthenticationOptions to)
    {
        to.TargetHost = from.TargetHost;
        to.EnabledSslProtocols = from.EnabledSslProtocols;
        to.CertificateRevocationCheckMode = from.CertificateRevocationCheckMode;
        to.RemoteCertificateValidationCallback = from.RemoteCertificateValidationCallback;
        to.ClientCertificateContext = from.ClientCertificateContext;
        to.ClientCertificates = null;
        to.LocalCertificateSelectionCallback = null;
        to.CertificateChainPolicy = null;
    }

    /// <summary>The trace of the connection being opened: why its certificate was refused, for the failure reason.</summary>
    private sealed class TraceHolder
    {
        public ConnectionTrace? Current { get; set; }
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
    private sealed class PostgresDatabase(NpgsqlDataSource dataSource, NetworkPolicy network, IReadOnlyList<string> hosts, TraceHolder trace) : ISqlDatabase
    {
        public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            trace.Current = null;
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
            NetworkDeniedException or TlsFilesException => e.Message,
            _ when NetworkErrors.FindInner<TlsFilesException>(e) is { } files => files.Message,
            NpgsqlException when trace.Current?.Rejection is { } refused => $"TLS handshake failed: {refused}",
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
