using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>
/// The known keys of the roadmap, settings, initiatives and kpis sections (and every mapping nested in them) come from
/// their declarations in <see cref="ConfigSchema"/>, the ones the JSON Schema and README's tables are generated from:
/// an unknown key anywhere lists exactly the declared names.
/// </summary>
public class ConfigSectionsDeclaredKeysTests
{
    private static readonly Dictionary<string, IReadOnlyList<KeySpec>> Declared = new(StringComparer.Ordinal)
    {
        ["top"] = ConfigSchema.TopLevel,
        ["roadmap"] = ConfigSchema.Roadmap,
        ["goal"] = ConfigSchema.Goal,
        ["settings"] = ConfigSchema.Settings,
        ["auth"] = ConfigSchema.Auth,
        ["network"] = ConfigSchema.Network,
        ["retention"] = ConfigSchema.Retention,
        ["initiative"] = ConfigSchema.Initiative,
        ["timeline"] = ConfigSchema.Timeline,
        ["risk"] = ConfigSchema.Risk,
        ["kpi"] = ConfigSchema.Kpi,
        ["baseline"] = ConfigSchema.BaselinePeriod,
    };

    public static TheoryData<string, string, string> UnknownKeys => new()
    {
        { "top", ConfigPatch.Minimal.Append("^zzz: 1"), "zzz" },
        { "roadmap", ConfigPatch.Minimal.Insert("name: Shop", "^zzz: 1"), "roadmap.zzz" },
        { "goal", ConfigPatch.Minimal.Insert("name: Shop", "goals:\n  - { id: g, title: G, ^zzz: 1 }"), "roadmap.goals[g].zzz" },
        { "settings", ConfigPatch.Minimal.Append("settings:\n  ^zzz: 1"), "settings.zzz" },
        { "auth", ConfigPatch.Minimal.Append("settings:\n  auth: { bearerToken: abcdef, ^zzz: 1 }"), "settings.auth.zzz" },
        { "network", ConfigPatch.Minimal.Append("settings:\n  network: { ^zzz: 1 }"), "settings.network.zzz" },
        { "retention", ConfigPatch.Minimal.Append("settings:\n  retention: { ^zzz: 1 }"), "settings.retention.zzz" },
        { "initiative", ConfigPatch.Minimal.Insert("name: A", "^zzz: 1"), "initiatives[a].zzz" },
        { "timeline", ConfigPatch.Minimal.Insert("name: A", "timeline: { start: 2027-01-01, due: 2027-02-01, ^zzz: 1 }"), "initiatives[a].timeline.zzz" },
        { "risk", ConfigPatch.Minimal.Insert("name: A", "risks:\n  - { risk: r, ^zzz: 1 }"), "initiatives[a].risks[0].zzz" },
        { "kpi", ConfigPatch.Minimal.Insert("source: web", "^zzz: 1"), "initiatives[a].kpis[uptime].zzz" },
        {
            "baseline",
            ConfigPatch.Minimal.Patch("target: \">= 0.99\"", "target: \">= baseline - 1%\"\nbaseline: { from: 2026-01-01, to: 2026-01-31, ^zzz: 1 }"),
            "initiatives[a].kpis[uptime].baseline.zzz"
        },
    };

    [Theory]
    [MemberData(nameof(UnknownKeys))]
    public void Load_UnknownKeyInASection_ListsExactlyItsDeclaredKeysAsKnown(string section, string patched, string path)
    {
        var (yaml, at) = ConfigPatch.Marked(patched);

        var result = new ConfigLoader([new FakeSourceKindSpec()]).Load(yaml, "c.yaml");

        var known = string.Join(", ", Declared[section].SelectMany(k => k.Names).Order(StringComparer.Ordinal));
        Assert.Equal([$"c.yaml:{at}: {path}: unknown key \"zzz\" (known keys here: {known})"], result.Errors.Select(e => e.ToString()));
    }
}
