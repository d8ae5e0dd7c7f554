using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>
/// The YAML slips of a hand-written roadmap: each is reported at the place to fix (the marker) with what to type,
/// where the parser alone said e.g. "While scanning a block scalar, did not find expected comment or line break".
/// </summary>
public sealed class YamlTrapsTests
{
    private const string Minimal = ConfigPatch.Minimal;

    private static ConfigLoadResult Load(string yaml) => new ConfigLoader([new FakeSourceKindSpec()]).Load(yaml, "test.yaml");

    public static TheoryData<string, string> Traps => new()
    {
        // An unquoted target starting with ">" or "|" is a block-scalar header to YAML.
        { Minimal.Patch("target: \">= 0.99\"", "target: ^>= 90%"), "quote the target: \">= 90%\"" },
        { Minimal.Patch("target: \">= 0.99\"", "target: ^> 0.5   # half"), "quote the target: \"> 0.5\"" },
        { Minimal.Patch("target: \">= 0.99\"", "target: ^|0.5|"), "quote the target: \"|0.5|\"" },
        // ": " inside a plain value reads as a second key.
        { Minimal.Patch("name: Shop", "name: ^Shop: the store"), "quote the name: \"Shop: the store\"" },
        // "@" and "`" are reserved at the start of a plain value.
        { Minimal.Patch("name: Shop", "name: ^@shop"), "quote the name: \"@shop\"" },
        // A tab in the indentation, alone or after spaces: pointed at the tab itself.
        { Minimal.Replace("  name: Shop", "^\tname: Shop", StringComparison.Ordinal), "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces" },
        { Minimal.Replace("    kind: fake", "  ^\t  kind: fake", StringComparison.Ordinal), "replace the tab with spaces" },
        // A key one column short of its neighbours, in a list item's mapping and in a plain mapping.
        { Minimal.Replace("    url: http://127.0.0.1/", "   ^url: http://127.0.0.1/", StringComparison.Ordinal), "\"url\" is indented 3 spaces, less than \"kind\" on line 5 (4)" },
        { Minimal.Replace("    url: http://127.0.0.1/", "   ^url: http://127.0.0.1/", StringComparison.Ordinal), "indent it 4 spaces to sit beside \"kind\"" },
        { Minimal.Replace("  name: Shop\n", "  name: Shop\n ^vision: x\n", StringComparison.Ordinal), "indent it 2 spaces to sit beside \"name\"" },
        // A key indented deeper than the one above it: YAML reads it as the rest of that key's value.
        { Minimal.Replace("    url: http://127.0.0.1/", "      ^url: http://127.0.0.1/", StringComparison.Ordinal), "\"url\" is indented 6 spaces, deeper than \"kind\" on line 5 (4), so YAML reads it as part of that value: indent it 4 spaces" },
    };

    [Theory]
    [MemberData(nameof(Traps))]
    public void Load_CommonYamlSlip_SaysWhatToFixAtFileLineColumn(string patched, string expected)
    {
        var (yaml, at) = ConfigPatch.Marked(patched);

        var result = Load(yaml);

        var error = Assert.Single(result.Errors).ToString();
        Assert.StartsWith($"test.yaml:{at}: YAML syntax error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
