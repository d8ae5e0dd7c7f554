using System.Data.Common;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Sql;

/// <summary>
/// A database engine the sql kind can query (the value of <c>provider:</c>). It checks connection strings when the
/// config is loaded and makes the per-source <see cref="ISqlDatabase"/>; <see cref="SqlSource"/> owns everything the
/// engines share (the timeout, timing, reading the result). Adding an engine: a class here and one line in
/// <see cref="SqlSourceKind"/>.
/// </summary>
internal interface ISqlProvider
{
    /// <summary>The value of <c>provider:</c>, lowercase.</summary>
    string Name { get; }

    /// <summary>What is wrong with a connection string, in words that never quote a value; null when nothing.</summary>
    string? Problem(string connectionString);

    /// <summary>Why a <c>tls</c> block does not fit this engine and connection string; null when it does.</summary>
    string? TlsProblem(string connectionString);

    /// <summary>The database one source queries; it lives as long as the source.</summary>
    /// <param name="timeout">The source's timeout, for the engine's own connect timeout where the string sets none.</param>
    /// <param name="network">Where the engine may connect, for engines that reach a server over the network.</param>
    /// <param name="tls">The source's tls block, for engines that speak TLS; null: none (the connection string decides).</param>
    ISqlDatabase Database(string connectionString, TimeSpan timeout, NetworkPolicy network, TlsClient? tls);
}

/// <summary>One source's database: opens connections and says what its exceptions mean.</summary>
internal interface ISqlDatabase : IAsyncDisposable
{
    /// <summary>Opens a connection; cancelling <paramref name="cancellationToken"/> abandons a slow open.</summary>
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Makes cancelling <paramref name="cancellationToken"/> stop a statement running on <paramref name="connection"/>,
    /// where the driver does not do so itself; dispose the result before the connection. Null when the driver does.
    /// </summary>
    IDisposable? StopOnCancel(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="e"/> means the query or connect ran out of time (beyond OperationCanceledException).</summary>
    bool IsTimeout(Exception e);

    /// <summary>The failure reason for <paramref name="e"/>, never holding a secret; null when it is not a database failure.</summary>
    string? Reason(Exception e);
}
