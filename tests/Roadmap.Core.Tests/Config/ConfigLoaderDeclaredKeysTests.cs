using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>
/// A source's unknown-key check and its "known keys" list come from the declarations (the common keys and the kind's
/// <see cref="ISourceKindSpec.Keys"/>), not from whichever keys the kind's Bind happened to read on its branch.
/// </summary>
public class ConfigLoaderDeclaredKeysTests
{
    private const string Config = """
        roadmap: { name: r }
        sources:
          - { id: s, kind: branchy, mode: plain, extra: 1 }
        """;

    [Fact]
    public void Load_UnknownSourceKey_ListsEveryDeclaredKeyAsKnown()
    {
        var result = new ConfigLoader([new BranchyKind()]).Load(Config, "c.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal(
            "c.yaml:3:42: sources[s].extra: unknown key \"extra\" (known keys here: cron, every, id, kind, mode, timeout, token, tokenFile)",
            error.ToString());
    }

    [Fact]
    public void Load_DeclaredKeyTheBranchDidNotRead_IsNotUnknown()
    {
        var result = new ConfigLoader([new BranchyKind()]).Load(Config.Replace("extra: 1", "token: abcd", StringComparison.Ordinal), "c.yaml");

        Assert.Empty(result.Errors);
    }

    [Fact]
    public void Load_RequiredKeyItsReaderReadsAsOptional_IsMissingByTheDeclaration()
    {
        var result = new ConfigLoader([new CheckedKind()]).Load("roadmap: { name: r }\nsources:\n  - { id: s, kind: checked, mode: plain }\n", "c.yaml");

        Assert.Equal(["c.yaml:3:5: sources[s]: missing required key \"region\""], result.Errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("secure")]
    public void Load_DeclaredKeyOutOfItsRange_IsReportedOnceWhicheverBranchTheReaderTakes(string mode)
    {
        var (yaml, at) = ConfigPatch.Marked($"roadmap: {{ name: r }}\nsources:\n  - {{ id: s, kind: checked, region: eu, mode: {mode}, retries: ^9 }}\n");

        var result = new ConfigLoader([new CheckedKind()]).Load(yaml, "c.yaml");

        Assert.Equal([$"c.yaml:{at}: sources[s].retries: bad number \"9\": expected a whole number from 0 to 5"], result.Errors.Select(e => e.ToString()));
    }

    // Reads token only in mode "secure": the other branch must not make token an unknown key.
    private sealed class BranchyKind : ISourceKindSpec
    {
        public string Kind => "branchy";

        public IReadOnlyList<KeySpec> Keys { get; } =
        [
            new("mode", KeyType.Enum, "plain or secure") { Required = true, Allowed = ["plain", "secure"] },
            new("token", KeyType.Text, "used in secure mode") { Secret = true },
        ];

        public object Bind(ConfigSection section)
        {
            var mode = section.OneOf("mode", ["plain", "secure"], required: true);
            return mode == "secure" ? section.Secret("token") ?? "" : "plain";
        }

        public IReadOnlyList<string> Signals(object options) => ["up"];
    }

    // Declares region as required but reads it as optional, and reads retries only in mode "secure": the declarations
    // alone decide what is missing and what is out of range.
    private sealed class CheckedKind : ISourceKindSpec
    {
        public string Kind => "checked";

        public IReadOnlyList<KeySpec> Keys { get; } =
        [
            new("region", KeyType.Text, "where") { Required = true },
            new("mode", KeyType.Enum, "plain or secure") { Required = true, Allowed = ["plain", "secure"] },
            new("retries", KeyType.WholeNumber, "how often") { Min = 0, Max = 5 },
        ];

        public object Bind(ConfigSection section)
        {
            var region = section.Text("region") ?? "";
            return section.OneOf("mode") == "secure" ? (object)(region, section.WholeNumber("retries")) : region;
        }

        public IReadOnlyList<string> Signals(object options) => ["up"];
    }
}
