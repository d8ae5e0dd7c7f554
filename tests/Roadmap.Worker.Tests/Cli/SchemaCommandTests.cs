using System.Text.Json.Nodes;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Cli;

/// <summary>
/// The config schema generated from the key declarations, against what is committed and shipped: the `schema` verb's
/// output is config/roadmap.schema.json, the shipped config and a config using every declared key conform to it, and
/// it refuses what the loader refuses (an unknown key, an unknown kind). Regenerate the file with
/// <c>dotnet run --project src/Roadmap.Worker -- schema &gt; config/roadmap.schema.json</c>.
/// </summary>
public class SchemaCommandTests
{
    private static readonly string SchemaFile = Path.Combine(Repository.Root(), "config", "roadmap.schema.json");

    [Fact]
    public async Task Schema_Verb_PrintsTheCommittedSchemaAndExitsZero()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync(["schema"], stdout, stderr);

        Assert.Equal(RoadmapCli.Ok, exit);
        Assert.Empty(stderr.ToString());
        Assert.True(
            File.ReadAllText(SchemaFile) == stdout.ToString(),
            "config/roadmap.schema.json differs from the key declarations: regenerate it with `dotnet run --project src/Roadmap.Worker -- schema > config/roadmap.schema.json`");
    }

    [Fact]
    public async Task Schema_UnknownFormat_IsAUsageError()
    {
        var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync(["schema", "--format", "yaml"], new StringWriter(), stderr);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Contains("expected json or markdown", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedConfig_NamesTheSchemaAndConformsToIt()
    {
        var path = Path.Combine(Repository.Root(), "config", "roadmap.yaml");
        var yaml = File.ReadAllText(path);

        Assert.StartsWith("# yaml-language-server: $schema=./roadmap.schema.json\n", yaml, StringComparison.Ordinal);
        // ${ROADMAP_SELF_URL} as the run verb fills it for the default address.
        Assert.True(new ConfigLoader(SourceKinds.All, Roadmap.Worker.Hosting.SelfUrl.Variables(Roadmap.Worker.Hosting.RunOptions.DefaultUrls)).LoadFile(path).IsValid);
        Assert.Empty(JsonSchemaCheck.Problems(Schema(), JsonSchemaCheck.FromYaml(yaml)));
    }

    [Fact]
    public void Schema_ConfigWithEveryDeclaredKey_Conforms()
    {
        var problems = JsonSchemaCheck.Problems(Schema(), JsonSchemaCheck.FromYaml(EveryKey()));

        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("http", "bodyContains: ok", "unknown key bodyContains")]
    [InlineData("redis", "url: http://x", "unknown key url")]
    [InlineData("gitlab", "state: merged", "is not one of")]
    [InlineData("github", "repository: no-slash", "does not match")]
    public void Schema_SourceKeyTheLoaderRefuses_IsRefused(string kind, string extra, string expected)
    {
        var required = SourceKinds.Get(kind).Keys.Where(k => k.Required && !extra.StartsWith(k.Name + ":", StringComparison.Ordinal)).ToList();
        var source = $"{{ id: s, kind: {kind}, {ConfigSchema.SampleYaml(required)[2..^2]}, {extra} }}";
        var yaml = $"roadmap: {{ name: r }}\nsources:\n  - {source}\n";

        var problems = JsonSchemaCheck.Problems(Schema(), JsonSchemaCheck.FromYaml(yaml));

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_UnknownKind_IsRefused()
    {
        var problems = JsonSchemaCheck.Problems(Schema(), JsonSchemaCheck.FromYaml("roadmap: { name: r }\nsources:\n  - { id: a, kind: ftp }\n"));

        Assert.Contains(problems, p => p.StartsWith("$.sources[0].kind:", StringComparison.Ordinal));
    }

    private static JsonNode Schema() => JsonNode.Parse(File.ReadAllText(SchemaFile))!;

    // A source of the kind with every key of its own at its sample value.
    private static string KindSample(ISourceKindSpec kind) =>
        "{ id: s-" + kind.Kind + ", kind: " + kind.Kind + ", " + ConfigSchema.SampleYaml(kind.Keys)[2..];

    private static string EveryKey()
    {
        var sources = string.Join("\n", SourceKinds.All.Select(k => "  - " + KindSample(k)));
        return $"""
            roadmap: {ConfigSchema.SampleYaml(ConfigSchema.Roadmap)}
            settings: {ConfigSchema.SampleYaml(ConfigSchema.Settings)}
            sources:
            {sources}
              - {ConfigSchema.SampleYaml(ConfigSchema.SourceCommon).Replace("kind: x", "kind: http, url: http://127.0.0.1/", StringComparison.Ordinal)}
            initiatives:
              - {ConfigSchema.SampleYaml(ConfigSchema.Initiative)}
            """;
    }
}
