using System.Text.Json;
using Roadmap.Sources.Json;

namespace Roadmap.Sources.Tests.Json;

public class JsonPathTests
{
    private const string Document = """
        {
          "sessions": {"bounceRate": 0.42, "count": 17},
          "pages": [{"p95": 1.5}, {"p95": 2.5}, {"p95": 3.5}],
          "a b": {"c.d": 7, "it's": 8, "say \"hi\"": 9},
          "matrix": [[1, 2], [3, 4]],
          "with-dash": 10,
          "ünï": 11,
          "$": 12,
          "": 13
        }
        """;

    private static string? Find(string path, string document = Document)
    {
        Assert.True(JsonPath.TryParse(path, out var parsed, out var problem), problem);
        using var json = JsonDocument.Parse(document);
        return parsed.TryFind(json.RootElement, out var value) ? value.GetRawText() : null;
    }

    [Theory]
    [InlineData("$.sessions.bounceRate", "0.42")]
    [InlineData("$.pages[0].p95", "1.5")]
    [InlineData("$.pages[2].p95", "3.5")]
    [InlineData("$.pages[-1].p95", "3.5")]
    [InlineData("$.pages[-3].p95", "1.5")]
    [InlineData("$['a b']['c.d']", "7")]
    [InlineData("$[\"a b\"][\"c.d\"]", "7")]
    [InlineData("$['a b']['it\\'s']", "8")]
    [InlineData("$['a b'][\"say \\\"hi\\\"\"]", "9")]
    [InlineData("$[ 'sessions' ][ 'count' ]", "17")]
    [InlineData("$['sessions'].count", "17")]
    [InlineData("$.matrix[1][0]", "3")]
    [InlineData("$.with-dash", "10")]
    [InlineData("$.ünï", "11")]
    [InlineData("$['$']", "12")]
    [InlineData("$['']", "13")]
    [InlineData("$['\\u0073essions'].count", "17")]
    public void TryFind_SupportedPath_SelectsTheValue(string path, string expected)
    {
        Assert.Equal(expected, Find(path));
    }

    [Fact]
    public void TryFind_Root_SelectsTheWholeDocument()
    {
        Assert.Equal("42", Find("$", "42"));
    }

    [Theory]
    [InlineData("$.sessions.bounce")]
    [InlineData("$.sessions.BounceRate")]
    [InlineData("$.pages[3].p95")]
    [InlineData("$.pages[-4].p95")]
    [InlineData("$.pages.p95")]
    [InlineData("$.sessions[0]")]
    [InlineData("$.sessions.count.more")]
    [InlineData("$.missing.deeper.still")]
    public void TryFind_PathNotInTheDocument_FindsNothing(string path)
    {
        Assert.Null(Find(path));
    }

    [Theory]
    [InlineData("sessions.bounceRate", "a JSONPath starts with $ (the document), e.g. $.sessions.bounceRate")]
    [InlineData("", "a JSONPath starts with $ (the document), e.g. $.sessions.bounceRate")]
    [InlineData("$..bounceRate", "recursive descent (..) at character 2 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages[*].p95", "the wildcard at character 9 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages.*", "the wildcard at character 9 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages[?(@.p95 > 2)]", "the filter at character 9 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages[0:2]", "the slice at character 10 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages[:2]", "the slice at character 9 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages[0,1]", "the union at character 10 is not supported: a signal needs exactly one value")]
    [InlineData("$.pages.length()", "functions such as length() are not supported")]
    [InlineData("$.pages[0", "'[' at character 8 is not closed")]
    [InlineData("$.pages[", "'[' at character 8 is not closed")]
    [InlineData("$['a b'", "'[' at character 2 is not closed")]
    [InlineData("$['a b]", "the quote at character 3 is not closed")]
    [InlineData("$['a\\qb']", "bad escape \"\\q\" at character 5")]
    [InlineData("$.pages[0x]", "unexpected 'x' at character 10: expected ']'")]
    [InlineData("$.pages[abc]", "unexpected 'a' at character 9: expected ['name'] or [index]")]
    [InlineData("$.pages[99999999999]", "bad index \"99999999999\" at character 9")]
    [InlineData("$.", "expected a name after '.' at character 2")]
    [InlineData("$.a b", "unexpected ' ' at character 4: expected .name, ['name'] or [index]")]
    [InlineData("$sessions", "unexpected 's' at character 2: expected .name, ['name'] or [index]")]
    public void TryParse_UnsupportedOrBadSyntax_SaysWhatAndWhere(string path, string problem)
    {
        Assert.False(JsonPath.TryParse(path, out _, out var actual));
        Assert.Equal(problem, actual);
    }

    [Fact]
    public void ToString_IsThePathAsWritten()
    {
        Assert.True(JsonPath.TryParse("$[ 'a b' ].c", out var path, out _));

        Assert.Equal("$[ 'a b' ].c", path.ToString());
        Assert.Equal("$[ 'a b' ].c", path.Text);
    }
}
