using System.Text;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Sql;

/// <summary>The keys of a sql source.</summary>
/// <param name="Provider">
/// The engine, lowercase: <c>sqlite</c> (Microsoft.Data.Sqlite) or <c>postgres</c> (Npgsql). Required.
/// </param>
/// <param name="ConnectionString">
/// As the provider reads it, checked keyword by keyword when the config is loaded. sqlite: e.g.
/// <c>Data Source=data/shop.db</c>; opened read-only unless it names a Mode, so a typo never creates an empty file.
/// postgres: e.g. <c>Host=db;Port=5432;Database=shop;Username=roadmap;Password=${PGPASSWORD}</c> (Host is required);
/// a fresh connection per poll unless it names Pooling, and a connect timeout of the source's timeout unless it names
/// Timeout. It is not read-only: give the source a role that can only read. Never printed: it may hold a password.
/// </param>
/// <param name="Query">
/// Run on each poll, within the source's timeout (a slower query is cancelled and the poll fails with
/// "timeout after ..."). Its wall time in seconds, without the connect, is duration_seconds; its result is value when
/// it is one row of one column holding a finite number (an integer, a float, a decimal, or text that parses as one).
/// </param>
public sealed record SqlQueryOptions(string Provider, string ConnectionString, string Query)
{
    /// <summary>provider postgres: the <c>tls</c> block (TLS required, checked as it says); null: the connection string decides.</summary>
    public TlsSettings? Tls { get; init; }

    // The generated ToString would print the connection string, password and all.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Provider = ").Append(Provider).Append(", ConnectionString = (hidden), Query = ").Append(Query);
        if (Tls is not null)
        {
            builder.Append(", Tls = ").Append(Tls);
        }

        return true;
    }
}
