using Roadmap.Sources.Json;

namespace Roadmap.Sources.Tests.Json;

public class JsonSourceKindTests
{
    // Line 3 of the loaded file is "  - id: analytics"; extra keys start on line 6.
    private static string Source(string extra) =>
        $"""
        - id: analytics
          kind: json
          url: http://127.0.0.1:8081/stats
        {string.Join('\n', extra.Split('\n').Select(l => "  " + l))}
        """;

    private static JsonSourceOptions Options(string extra) => (JsonSourceOptions)ApiKinds.Source(Source(extra)).Options;

    [Fact]
    public void Bind_UrlAndSignals_DefaultsToGetAndEmitsTheConfiguredNames()
    {
        var config = ApiKinds.Source(Source("""
            signals:
              bounce_rate: $.sessions.bounceRate
              p95_seconds: $.pages[0].p95
              errors: "$['error count']"
            """));

        var options = Assert.IsType<JsonSourceOptions>(config.Options);
        Assert.Equal("json", config.Kind);
        Assert.Equal(new Uri("http://127.0.0.1:8081/stats"), options.Url);
        Assert.Equal("GET", options.Method);
        Assert.Empty(options.Headers);
        Assert.Equal(["bounce_rate", "p95_seconds", "errors"], config.Signals);
        Assert.Equal(["$.sessions.bounceRate", "$.pages[0].p95", "$['error count']"], options.Signals.Select(s => s.Path.Text));
    }

    [Fact]
    public void Bind_FlowMappingAsInTheDesign_IsRead()
    {
        var config = ApiKinds.Source(Source("signals: { bounce_rate: $.sessions.bounceRate }"));

        Assert.Equal(["bounce_rate"], config.Signals);
    }

    [Fact]
    public void Bind_MethodAndHeaders_AreRead()
    {
        var options = Options("""
            method: post
            headers: {Authorization: Bearer abc, X-Team: web}
            signals: {count: $.count}
            """);

        Assert.Equal("POST", options.Method);
        Assert.Equal("Bearer abc", options.Headers["Authorization"]);
        Assert.Equal("web", options.Headers["X-Team"]);
    }

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        {
            "method: GET",
            ["test.yaml:3:5: sources[analytics]: missing required key \"signals\""]
        },
        {
            "signals: {}",
            ["test.yaml:6:14: sources[analytics].signals: name at least one signal, e.g. signals: { bounce_rate: $.sessions.bounceRate }"]
        },
        {
            "signals: [$.a]",
            ["test.yaml:6:14: sources[analytics].signals: expected a mapping (key: value), not a list"]
        },
        {
            "signals:\n  Bounce-Rate: $.a",
            ["test.yaml:7:20: sources[analytics].signals.Bounce-Rate: bad signal name \"Bounce-Rate\": use lowercase letters, digits and '_' (at most 63 characters), e.g. bounce_rate"]
        },
        {
            "signals:\n  bounce_rate: $.sessions[*].rate",
            ["test.yaml:7:20: sources[analytics].signals.bounce_rate: bad JSONPath \"$.sessions[*].rate\": the wildcard at character 12 is not supported: a signal needs exactly one value"]
        },
        {
            "signals:\n  ok: $.a\n  bad: \"$['a b\"\n  worse: sessions.count",
            [
                "test.yaml:8:12: sources[analytics].signals.bad: bad JSONPath \"$['a b\": the quote at character 3 is not closed",
                "test.yaml:9:14: sources[analytics].signals.worse: bad JSONPath \"sessions.count\": a JSONPath starts with $ (the document), e.g. $.sessions.bounceRate",
            ]
        },
        {
            // Escaped halves of a surrogate pair (JSONPath's escape inside YAML's single quotes) threw at every poll.
            "signals:\n  a: '$[''\\uD800'']'\n  b: '$.x[\"\\udc00\"]'",
            [
                "test.yaml:7:10: sources[analytics].signals.a: bad JSONPath \"$['\\uD800']\": bad escape \"\\uD800\" at character 4: half of a UTF-16 surrogate pair",
                "test.yaml:8:10: sources[analytics].signals.b: bad JSONPath \"$.x[\"\\udc00\"]\": bad escape \"\\udc00\" at character 6: half of a UTF-16 surrogate pair",
            ]
        },
        {
            "signals:\n  rate:",
            ["test.yaml:7:12: sources[analytics].signals.rate: missing the JSONPath of the signal's value, e.g. $.sessions.bounceRate"]
        },
        {
            "signals:\n  rate: \"\"",
            ["test.yaml:7:13: sources[analytics].signals.rate: missing the JSONPath of the signal's value, e.g. $.sessions.bounceRate"]
        },
        {
            "signals:\n  rate: {a: b}",
            ["test.yaml:7:13: sources[analytics].signals.rate: expected a single value, not a mapping"]
        },
        {
            "method: DELETE\nsignals: {a: $.a}",
            ["test.yaml:6:13: sources[analytics].method: unknown value \"DELETE\": expected one of GET, POST"]
        },
        {
            "signals: {a: $.a}\nquery: x",
            ["test.yaml:7:5: sources[analytics].query: unknown key \"query\" (known keys here: cron, every, headers, id, kind, method, signals, timeout, tls, url)"]
        },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bind_BadConfig_ReportsEveryErrorAtItsPlace(string extra, string[] expected)
    {
        Assert.Equal(expected, ApiKinds.Errors(Source(extra)));
    }

    [Fact]
    public void Bind_KpiOnAnUnconfiguredSignal_IsAnErrorListingTheConfiguredOnes()
    {
        var yaml = """
            roadmap: {name: x}
            sources:
              - id: analytics
                kind: json
                url: http://127.0.0.1:8081/stats
                signals: {bounce_rate: $.sessions.bounceRate, visits: $.sessions.count}
            initiatives:
              - id: frontend
                name: Enhance frontend performance
                timeline: 2027-Q1
                kpis:
                  - id: bounce
                    source: analytics
                    signal: bounce
                    aggregate: avg
                    window: 1d
                    target: "<= 0.3"
            """;

        var result = new Roadmap.Core.Config.ConfigLoader(SourceKinds.All, _ => null).Load(yaml, "test.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Contains("does not emit signal \"bounce\"; it emits bounce_rate, visits", error.Message, StringComparison.Ordinal);
    }
}
