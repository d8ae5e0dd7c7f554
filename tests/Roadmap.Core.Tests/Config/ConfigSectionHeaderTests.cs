using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>The options <see cref="HeaderSourceKindSpec"/> binds: its headers.</summary>
public sealed record HeaderSourceOptions(IReadOnlyDictionary<string, string> Headers);

/// <summary>A source kind whose only key is a headers map, read as the http, json and prometheus kinds read theirs.</summary>
public sealed class HeaderSourceKindSpec : ISourceKindSpec
{
    public string Kind => "headers";

    public object Bind(ConfigSection section) => new HeaderSourceOptions(section.StringMap("headers"));

    public IReadOnlyList<string> Signals(object options) => ["count"];
}

/// <summary><see cref="ConfigSection.StringMap"/> through the real loader: header names and values are checked at validate.</summary>
public sealed class ConfigSectionHeaderTests
{
    private const string Token = "s3cr3t-Value";

    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal) { ["TOKEN"] = Token };

    /// <summary>One headers source; the headers mapping's first key is on line 6, column 7.</summary>
    private ConfigLoadResult Load(string headers)
    {
        var own = string.Join('\n', headers.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(h => "      " + h));
        var yaml = $"roadmap: {{name: x}}\nsources:\n  - id: api\n    kind: headers\n    headers:\n{own}\n";
        return new ConfigLoader([new HeaderSourceKindSpec()], name => _environment.GetValueOrDefault(name)).Load(yaml, "test.yaml");
    }

    private List<string> Errors(string headers)
    {
        var result = Load(headers);
        Assert.False(result.IsValid);
        return result.Errors.Select(e => e.ToString()).ToList();
    }

    [Fact]
    public void StringMap_ValueWithCrLfAndAnotherHeader_IsAnErrorAtTheValueThatNeverQuotesIt()
    {
        var errors = Errors("X-Api-Key: \"abc\\r\\nX-Injected: 1\"");

        Assert.Equal(["test.yaml:6:18: sources[api].headers.X-Api-Key: the value contains a carriage return (CR); a header value must be one line without control characters"], errors);
        Assert.DoesNotContain("abc", errors[0]);
    }

    [Fact]
    public void StringMap_VariableEndingWithANewline_IsAnErrorSayingSo()
    {
        _environment["TOKEN"] = Token + "\n";

        var error = Assert.Single(Errors("Authorization: \"Bearer ${TOKEN}\""));

        Assert.Equal("test.yaml:6:22: sources[api].headers.Authorization: the value contains a line break (LF) after ${VAR} expansion (does the environment variable end with a newline?); a header value must be one line without control characters", error);
        Assert.DoesNotContain(Token, error);
    }

    [Theory]
    [InlineData("\"a\\0b\"", "a NUL character")]
    [InlineData("\"a\\x7Fb\"", "the control character U+007F")]
    [InlineData("\"a\\x01b\"", "the control character U+0001")]
    [InlineData("\"a\\nb\"", "a line break (LF)")]
    public void StringMap_ControlCharacter_IsAnError(string value, string what)
    {
        var error = Assert.Single(Errors($"X-Trace: {value}"));

        Assert.Equal($"test.yaml:6:16: sources[api].headers.X-Trace: the value contains {what}; a header value must be one line without control characters", error);
    }

    [Theory]
    [InlineData("\"Bad Name\"")]
    [InlineData("\"X-A:B\"")]
    [InlineData("\"X-\\u00e9\"")]
    [InlineData("\"X\\r\\nY\"")]
    public void StringMap_NameNotAToken_IsAnError(string name)
    {
        var error = Assert.Single(Errors($"{name}: v"));

        Assert.Contains("bad header name", error, StringComparison.Ordinal);
        Assert.StartsWith("test.yaml:6:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void StringMap_TabAndTokenPunctuation_AreAllowed()
    {
        var result = Load("X-Odd_Name.v1~!#$%&'*+^`|: \"a\\tb ${TOKEN}\"");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        var headers = Assert.IsType<HeaderSourceOptions>(Assert.Single(result.Config!.Sources).Options).Headers;
        Assert.Equal($"a\tb {Token}", headers["X-Odd_Name.v1~!#$%&'*+^`|"]);
    }
}
