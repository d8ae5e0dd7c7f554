using Roadmap.Sources.Http;

namespace Roadmap.Sources.Tests.Http;

public class HttpSourceKindTests
{
    // Line 3 of the loaded file is "  - id: web"; extra keys start on line 6, values of "    key: " at column 5 + key length + 2.
    private static string Source(string extra) =>
        $"""
        - id: web
          kind: http
          url: http://127.0.0.1:8080/healthz
        {string.Join('\n', extra.Split('\n').Select(l => "  " + l))}
        """;

    private static HttpProbeOptions Options(string extra) => (HttpProbeOptions)TestConfigs.Source(Source(extra)).Options;

    [Fact]
    public void Bind_OnlyUrl_DefaultsToGetAnyTwoHundredAndNoBodyCheck()
    {
        var config = TestConfigs.Source("""
            - id: web
              kind: http
              url: http://127.0.0.1:8080/healthz
            """);

        var options = Assert.IsType<HttpProbeOptions>(config.Options);
        Assert.Equal("http", config.Kind);
        Assert.Equal(new Uri("http://127.0.0.1:8080/healthz"), options.Url);
        Assert.Equal("GET", options.Method);
        Assert.Empty(options.Headers);
        Assert.Empty(options.ExpectStatus);
        Assert.Null(options.BodyContains);
        Assert.Equal(
            [
                HttpSourceKind.Up, HttpSourceKind.LatencySeconds, HttpSourceKind.StatusCode, HttpSourceKind.DnsSeconds, HttpSourceKind.ConnectSeconds,
                HttpSourceKind.TlsSeconds, HttpSourceKind.TtfbSeconds, HttpSourceKind.TransferSeconds, HttpSourceKind.TlsVersion,
                HttpSourceKind.CertExpirySeconds, HttpSourceKind.Redirects, HttpSourceKind.ContentLengthBytes,
            ],
            config.Signals);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("keepAlive: true", true)]
    [InlineData("keepAlive: false", false)]
    public void Bind_KeepAlive_OffUnlessSetTrue(string extra, bool expected) =>
        Assert.Equal(expected, Options(extra).KeepAlive);

    [Theory]
    [InlineData("get", "GET")]
    [InlineData("head", "HEAD")]
    [InlineData("Post", "POST")]
    [InlineData("OPTIONS", "OPTIONS")]
    public void Bind_MethodInAnyCase_IsNormalized(string written, string expected)
    {
        Assert.Equal(expected, Options($"method: {written}").Method);
    }

    [Theory]
    [InlineData("[200, 204]", new[] { 200, 204 })]
    [InlineData("204", new[] { 204 })]
    [InlineData("[100, 599]", new[] { 100, 599 })]
    [InlineData("[]", new int[0])]
    public void Bind_ExpectStatus_ListOrSingleValue(string written, int[] expected)
    {
        Assert.Equal(expected, Options($"expect: {{status: {written}}}").ExpectStatus);
    }

    [Fact]
    public void Bind_ExpectAndHeaders_AreRead()
    {
        var options = Options("""
            expect: {bodyContains: "ok"}
            headers: {X-Api-Key: abc, Accept: text/plain}
            """);

        Assert.Equal("ok", options.BodyContains);
        Assert.Equal("abc", options.Headers["X-Api-Key"]);
        Assert.Equal("text/plain", options.Headers["Accept"]);
        Assert.Equal(2, options.Headers.Count);
    }

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        {
            "method: FETCH",
            ["test.yaml:6:13: sources[web].method: unknown value \"FETCH\": expected one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"]
        },
        {
            "expect: {status: [abc]}",
            ["test.yaml:6:23: sources[web].expect.status: bad HTTP status \"abc\": expected a number from 100 to 599"]
        },
        {
            "expect: {status: [700]}",
            ["test.yaml:6:23: sources[web].expect.status: bad HTTP status \"700\": expected a number from 100 to 599"]
        },
        {
            "expect: {status: 99}",
            ["test.yaml:6:22: sources[web].expect.status: bad HTTP status \"99\": expected a number from 100 to 599"]
        },
        {
            "expect: {status: [-200]}",
            ["test.yaml:6:23: sources[web].expect.status: bad HTTP status \"-200\": expected a number from 100 to 599"]
        },
        {
            "expect: {status: [200, abc, 700]}",
            [
                "test.yaml:6:28: sources[web].expect.status: bad HTTP status \"abc\": expected a number from 100 to 599",
                "test.yaml:6:33: sources[web].expect.status: bad HTTP status \"700\": expected a number from 100 to 599",
            ]
        },
        {
            "expect: {bodycontains: ok}",
            ["test.yaml:6:14: sources[web].expect.bodycontains: unknown key \"bodycontains\" (known keys here: bodyContains, status)"]
        },
        {
            "expect: [200]",
            ["test.yaml:6:13: sources[web].expect: expected a mapping (key: value), not a list"]
        },
        {
            "headers: {Authorization: \"Bearer ${TOKEN}\"}",
            ["test.yaml:6:30: sources[web].headers.Authorization: environment variable TOKEN is not set"]
        },
        {
            "expected: {status: [200]}",
            ["test.yaml:6:5: sources[web].expected: unknown key \"expected\" (known keys here: cron, every, expect, headers, id, keepAlive, kind, method, timeout, tls, url)"]
        },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bind_BadKey_ReportsTheExactError(string extra, string[] expected)
    {
        Assert.Equal(expected, TestConfigs.Errors(Source(extra)));
    }

    [Theory]
    [InlineData("", "test.yaml:3:5: sources[web]: missing required key \"url\"")]
    [InlineData("url: ftp://127.0.0.1/", "test.yaml:5:10: sources[web].url: bad URL \"ftp://127.0.0.1/\": expected an absolute http:// or https:// URL")]
    [InlineData("url: /healthz", "test.yaml:5:10: sources[web].url: bad URL \"/healthz\": expected an absolute http:// or https:// URL")]
    public void Bind_MissingOrBadUrl_ReportsTheExactError(string url, string expected)
    {
        var errors = TestConfigs.Errors($"""
            - id: web
              kind: http
              {url}
            """);

        Assert.Equal([expected], errors);
    }
}
