using Roadmap.Sources.Prometheus;

namespace Roadmap.Sources.Tests.Prometheus;

public class PrometheusSourceKindTests
{
    // Line 3 of the loaded file is "  - id: rum"; extra keys start on line 5.
    private static string Source(string extra) =>
        $"""
        - id: rum
          kind: prometheus
        {string.Join('\n', extra.Split('\n').Select(l => "  " + l))}
        """;

    private static PrometheusQueryOptions Options(string extra) => (PrometheusQueryOptions)ApiKinds.Source(Source(extra)).Options;

    [Fact]
    public void Bind_UrlAndQuery_ReadsThemAndEmitsValue()
    {
        var config = ApiKinds.Source(Source("""
            url: http://127.0.0.1:9090
            query: histogram_quantile(0.95, sum by (le) (rate(page_load_seconds_bucket[5m])))
            """));

        var options = Assert.IsType<PrometheusQueryOptions>(config.Options);
        Assert.Equal("prometheus", config.Kind);
        Assert.Equal(new Uri("http://127.0.0.1:9090"), options.Url);
        Assert.Equal("histogram_quantile(0.95, sum by (le) (rate(page_load_seconds_bucket[5m])))", options.Query);
        Assert.Empty(options.Headers);
        Assert.Equal([PrometheusSourceKind.Value], config.Signals);
    }

    [Fact]
    public void Bind_Headers_AreReadWithVariablesExpanded()
    {
        var config = ApiKinds.Source(
            Source("""
                url: https://prometheus.example.com
                query: up
                headers:
                  Authorization: Bearer ${TOKEN}
                  X-Scope-OrgID: tenant-1
                """),
            name => name == "TOKEN" ? "s3cret" : null);

        var options = (PrometheusQueryOptions)config.Options;
        Assert.Equal("Bearer s3cret", options.Headers["Authorization"]);
        Assert.Equal("tenant-1", options.Headers["X-Scope-OrgID"]);
        Assert.Equal(2, options.Headers.Count);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9090", "up", "http://127.0.0.1:9090/api/v1/query?query=up")]
    [InlineData("http://127.0.0.1:9090/", "up", "http://127.0.0.1:9090/api/v1/query?query=up")]
    [InlineData("https://example.com/prometheus/", "up", "https://example.com/prometheus/api/v1/query?query=up")]
    [InlineData("http://thanos:10902?dedup=true", "up", "http://thanos:10902/api/v1/query?dedup=true&query=up")]
    [InlineData("http://p:9090", "sum(rate(x{job=\"a b\"}[5m])) > 0.5 & 1", "http://p:9090/api/v1/query?query=sum%28rate%28x%7Bjob%3D%22a%20b%22%7D%5B5m%5D%29%29%20%3E%200.5%20%26%201")]
    public void QueryUri_BaseUrlAndQuery_IsTheInstantQueryEndpointWithTheQueryEncoded(string url, string query, string expected)
    {
        var options = new PrometheusQueryOptions(new Uri(url), query, new Dictionary<string, string>());

        Assert.Equal(expected, options.QueryUri.AbsoluteUri);
    }

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        {
            "query: up",
            ["test.yaml:3:5: sources[rum]: missing required key \"url\""]
        },
        {
            "url: http://127.0.0.1:9090",
            ["test.yaml:3:5: sources[rum]: missing required key \"query\""]
        },
        {
            "url: http://127.0.0.1:9090\nquery: \"\"",
            ["test.yaml:6:12: sources[rum].query: must not be empty"]
        },
        {
            "url: ftp://127.0.0.1:9090\nquery: up",
            ["test.yaml:5:10: sources[rum].url: bad URL \"ftp://127.0.0.1:9090\": expected an absolute http:// or https:// URL"]
        },
        {
            "url: http://127.0.0.1:9090\nquery: up\nheaders: [a, b]",
            ["test.yaml:7:14: sources[rum].headers: expected a mapping (key: value), not a list"]
        },
        {
            "url: http://127.0.0.1:9090\nquery: up\nmethod: POST",
            ["test.yaml:7:5: sources[rum].method: unknown key \"method\" (known keys here: cron, every, headers, id, kind, query, timeout, tls, url)"]
        },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bind_BadConfig_ReportsEveryErrorAtItsPlace(string extra, string[] expected)
    {
        Assert.Equal(expected, ApiKinds.Errors(Source(extra)));
    }

    [Fact]
    public void Bind_MissingVariableInAHeader_IsAnErrorNamingIt()
    {
        var errors = ApiKinds.Errors(Source("""
            url: http://127.0.0.1:9090
            query: up
            headers: {Authorization: "Bearer ${PROM_TOKEN}"}
            """));

        var error = Assert.Single(errors);
        Assert.Contains("sources[rum].headers.Authorization: environment variable PROM_TOKEN is not set", error, StringComparison.Ordinal);
    }
}
