using Roadmap.Core.Config;
using Roadmap.Sources;

namespace Roadmap.Worker.Cli;

/// <summary>
/// The <c>schema</c> verb: prints the config's JSON Schema (the one committed as config/roadmap.schema.json), or with
/// <c>--format markdown</c> README's generated config tables, both from the key declarations.
/// </summary>
public static class SchemaCommand
{
    /// <summary>
    /// Every README table generated from the declarations, by the name its marker carries (its path in the config). A
    /// nested mapping's keys are rows of its parent's table (<c>retention.raw</c>) unless the mapping has a table of
    /// its own here, as <c>settings.auth</c> has: then the parent's table has one row for it.
    /// </summary>
    public static IReadOnlyList<(string Name, IReadOnlyList<KeySpec> Keys)> Tables { get; } = OwnRows(
    [
        ("roadmap", ConfigSchema.Roadmap),
        ("settings", ConfigSchema.Settings),
        ("settings.auth", ConfigSchema.Auth),
        ("settings.network", ConfigSchema.Network),
        ("settings.updates", UpdatesConfig.Keys),
        ("sources", [.. ConfigSchema.SourceCommon.Select(k => k.Name == "kind" ? k with { Description = KindList() } : k)]),
        .. SourceKinds.All.Select(k => ($"sources.{k.Kind}", k.Keys)),
        ("sources.tls", Roadmap.Sources.Network.TlsSettings.Keys),
        ("initiatives", ConfigSchema.Initiative),
        ("initiatives.kpis", ConfigSchema.Kpi),
    ]);

    // A mapping with a table of its own becomes one row (its keys dropped) in its parent's table.
    private static List<(string Name, IReadOnlyList<KeySpec> Keys)> OwnRows(List<(string Name, IReadOnlyList<KeySpec> Keys)> tables)
    {
        var names = tables.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return [.. tables.Select(t => (t.Name, (IReadOnlyList<KeySpec>)[.. t.Keys.Select(k => names.Contains($"{t.Name}.{k.Name}") ? k with { Keys = null } : k)]))];
    }

    // The kinds as README lists them: `http`, `sql` or `jira`.
    private static string KindList()
    {
        var names = SourceKinds.All.Select(k => $"`{k.Kind}`").ToList();
        return $"{string.Join(", ", names.SkipLast(1))} or {names[^1]}";
    }

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

    /// <summary>
    /// <paramref name="readme"/> with the text between each table's marker and the end marker replaced by the table
    /// generated now; a table whose marker is missing is reported in <paramref name="missing"/>.
    /// </summary>
    public static string UpdateReadme(string readme, out IReadOnlyList<string> missing)
    {
        var notFound = new List<string>();
        foreach (var (name, keys) in Tables)
        {
            var start = readme.IndexOf(Marker(name) + "\n", StringComparison.Ordinal);
            var end = start < 0 ? -1 : readme.IndexOf(EndMarker, start, StringComparison.Ordinal);
            if (end < 0)
            {
                notFound.Add(name);
                continue;
            }

            var from = start + Marker(name).Length + 1;
            readme = string.Concat(readme.AsSpan(0, from), ConfigSchema.Markdown(keys), readme.AsSpan(end));
        }

        missing = notFound;
        return readme;
    }

    /// <summary>The comment that opens a generated table in README.</summary>
    public static string Marker(string name) => $"<!-- generated: schema {name} (Roadmap.Worker schema --format markdown) -->";

    /// <summary>The comment that closes a generated table.</summary>
    public const string EndMarker = "<!-- end generated -->";
}
