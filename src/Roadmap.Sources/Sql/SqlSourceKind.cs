using Microsoft.Data.Sqlite;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Sql;

/// <summary>kind: sql — times a query and reads its result. Signals: duration_seconds, value.</summary>
public sealed class SqlSourceKind : ISourceKind
{
    public const string DurationSeconds = "duration_seconds";
    public const string Value = "value";

    private static readonly IReadOnlyList<string> SignalNames = [DurationSeconds, Value];
    private static readonly string[] Providers = ["sqlite"];

    public string Kind => "sql";

    public object Bind(ConfigSection section)
    {
        var provider = section.OneOf("provider", Providers, required: true) ?? "sqlite";
        var connectionString = section.Text("connectionString", required: true) ?? "";
        var query = section.Text("query", required: true) ?? "";
        if (section.Has("connectionString") && connectionString.Length > 0)
        {
            try
            {
                _ = new SqliteConnectionStringBuilder(connectionString);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                // The message names the bad keyword, never the value (which may hold a password).
                section.Error("connectionString", $"bad connection string: {e.Message}");
            }
        }

        return new SqlQueryOptions(provider, connectionString, query);
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new SqlSource(config, context);
}
