using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Sql;

/// <summary>
/// kind: sql — times a query and reads its result. Signals: duration_seconds, value. Each engine (provider: sqlite,
/// postgres) is an <see cref="ISqlProvider"/>, listed here and nowhere else.
/// </summary>
public sealed class SqlSourceKind : ISourceKind
{
    public const string DurationSeconds = "duration_seconds";
    public const string Value = "value";

    private static readonly IReadOnlyList<string> SignalNames = [DurationSeconds, Value];

    private static readonly IReadOnlyList<ISqlProvider> Providers = [new SqliteProvider(), new PostgresProvider()];
    private static readonly string[] ProviderNames = Providers.Select(p => p.Name).ToArray();

    public string Kind => "sql";

    /// <summary>The keys of a sql source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("provider", KeyType.Enum, "the database engine") { Required = true, Allowed = ProviderNames, Sample = "postgres" },
        new("connectionString", KeyType.Text, "as the provider reads it; checked keyword by keyword on load (an error names the keyword, never a value)")
        {
            // A postgres sample: the tls block, which every key's sample includes, is for postgres only.
            Required = true, Sample = "\"Host=127.0.0.1;Database=shop;Username=roadmap\"",
        },
        new("query", KeyType.Text, "run on each poll") { Required = true, Sample = "SELECT 1" },
        TlsSettings.Key("provider `postgres` only: require TLS, checked as the block says (see **TLS settings**); the connection string then sets no TLS keyword"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var provider = section.OneOf("provider");
        var connectionString = section.Text("connectionString") ?? "";
        var query = section.Text("query") ?? "";
        if (provider is not null && connectionString.Length > 0 && Provider(provider).Problem(connectionString) is { } problem)
        {
            // The problem names a keyword, never a value (which may hold a password).
            section.Error("connectionString", $"bad connection string: {problem}");
        }

        var tls = TlsSettings.Bind(section);
        if (tls is not null && provider is not null && Provider(provider).TlsProblem(connectionString) is { } tlsProblem)
        {
            section.Error("tls", tlsProblem);
        }

        return new SqlQueryOptions(provider ?? ProviderNames[0], connectionString, query) { Tls = tls };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) =>
        new SqlSource(config, context, Provider(((SqlQueryOptions)config.Options).Provider));

    private static ISqlProvider Provider(string name) => Providers.First(p => p.Name == name);
}
