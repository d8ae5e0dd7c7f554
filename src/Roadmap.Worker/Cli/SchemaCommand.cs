using Roadmap.Core.Config;
using Roadmap.Sources;

namespace Roadmap.Worker.Cli;

/// <summary>
/// The <c>schema</c> verb: prints the config's JSON Schema (the one committed as config/roadmap.schema.json), or with
/// <c>--format markdown</c> README's generated config tables, both from the key declarations.
/// </summary>
public static class SchemaCommand
{
    /// <summary>Every README table generated from the declarations, by the name its marker carries.</summary>
    public static IReadOnlyList<(string Name, IReadOnlyList<KeySpec> Keys)> Tables { get; } =
    [
        ("roadmap", ConfigSchema.Roadmap),
        ("settings", ConfigSchema.Settings),
        ("settings.auth", ConfigSchema.Auth),
        ("settings.network", ConfigSchema.Network),
        ("sources", ConfigSchema.SourceCommon),
        .. SourceKinds.All.Select(k => ($"sources.{k.Kind}", k.Keys)),
        ("initiatives", ConfigSchema.Initiative),
        ("kpis", ConfigSchema.Kpi),
    ];

    public static async Task<int> RunAsync(string format, TextWriter stdout, TextWriter stderr)
    {
        switch (format)
        {
            case "json":
                await stdout.WriteAsync(ConfigSchema.ToJson(SourceKinds.All));
                return RoadmapCli.Ok;
            case "markdown":
                foreach (var (name, keys) in Tables)
                {
                    await stdout.WriteAsync($"{Marker(name)}\n{ConfigSchema.Markdown(keys)}{EndMarker}\n\n");
                }

                return RoadmapCli.Ok;
            default:
                await stderr.WriteLineAsync($"error: unknown format \"{format}\" for schema: expected json or markdown");
                return RoadmapCli.BadConfigOrUsage;
        }
    }

    /// <summary>The comment that opens a generated table in README.</summary>
    public static string Marker(string name) => $"<!-- generated: schema {name} (Roadmap.Worker schema --format markdown) -->";

    /// <summary>The comment that closes a generated table.</summary>
    public const string EndMarker = "<!-- end generated -->";
}
