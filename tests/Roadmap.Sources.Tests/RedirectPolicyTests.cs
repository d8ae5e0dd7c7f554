using Roadmap.Sources.Http;
using Roadmap.Sources.Tests.Network;
using WireMock.Matchers;

namespace Roadmap.Sources.Tests;

/// <summary>
/// The one redirect policy of every HTTP-based kind, through each kind against real local servers: what a redirect
/// may lead to, which headers another origin gets, and the method rewrite.
/// </summary>
public sealed class RedirectPolicyTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private readonly WireMockServer _server = wiremock.Server;
    private readonly string _path = "/" + Guid.NewGuid().ToString("N");

    public static TheoryData<string> Kinds => ["http", "json", "prometheus", "github", "gitlab", "jira"];

    /// <summary>A source of <paramref name="kind"/> whose every request goes under <paramref name="baseUrl"/>.</summary>
    private static string Source(string kind, string baseUrl, string extra = "") =>
        string.Join('\n', new[]
        {
            $"- id: s\n  kind: {kind}\n  timeout: 5s",
            kind switch
            {
                "http" => $"  url: {baseUrl}/probe",
                "json" => $"  url: {baseUrl}/stats\n  signals: {{ value: $.value }}",
                "prometheus" => $"  url: {baseUrl}\n  query: up",
                "github" => $"  apiUrl: {baseUrl}\n  repository: acme/shop\n  query: is:issue",
                "gitlab" => $"  url: {baseUrl}\n  project: acme/shop",
                "jira" => $"  url: {baseUrl}\n  jql: project = SHOP",
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
            },
        }.Concat(extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l)));

    /// <summary>Every request under <paramref name="prefix"/> on <paramref name="server"/> gets <paramref name="response"/>.</summary>
    private static void Answer(WireMockServer server, string prefix, IResponseBuilder response) =>
        server.Given(Request.Create().WithPath(new WildcardMatcher(prefix + "*")).UsingAnyMethod()).RespondWith(response);

    private static IResponseBuilder RedirectTo(string location, int status = 302) =>
        Response.Create().WithStatusCode(status).WithHeader("Location", location);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task PollAsync_RedirectToAnotherScheme_FailsWithTheSchemeAndNeverConnects(string kind)
    {
        using var port = new UntouchedPort();
        // Each scheme under its own prefix of the same server; the Location's credentials must never show.
        string[] schemes = ["ftp", "file", "data", "gopher"];
        string[] locations =
        [
            $"ftp://user:s3cret-pw@127.0.0.1:{port.Port}/x",
            "file:///etc/passwd",
            "data:text/plain,hello",
            $"gopher://127.0.0.1:{port.Port}/1",
        ];

        for (var i = 0; i < schemes.Length; i++)
        {
            var prefix = $"{_path}/{schemes[i]}";
            Answer(_server, prefix, RedirectTo(locations[i]));

            var result = await Networks.PollOnceAsync(Source(kind, _server.Url + prefix), Networks.Policy());

            Assert.Equal($"HTTP 302 Found: redirect to unsupported scheme {schemes[i]}: refused", result.Failure);
            if (kind == "http")
            {
                Assert.Equal(0, result.Value(HttpSourceKind.Up));
                Assert.Equal(302, result.Value(HttpSourceKind.StatusCode));
            }
        }

        Assert.False(port.Touched);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task PollAsync_MalformedLocation_FailsAsRefused(string kind)
    {
        using var port = new UntouchedPort();
        Answer(_server, _path, RedirectTo($"ftp://user:s3cret-pw@127.0.0.1:{port.Port}x/"));

        var result = await Networks.PollOnceAsync(Source(kind, _server.Url + _path), Networks.Policy());

        Assert.Equal("HTTP 302 Found: malformed Location header: redirect refused", result.Failure);
        Assert.False(port.Touched);
    }

    [Theory]
    [InlineData("http")]
    [InlineData("json")]
    public async Task PollAsync_RedirectToAnotherOrigin_SendsNoConfiguredHeaderThere(string kind)
    {
        // Another port is another origin.
        using var elsewhere = WireMockServer.Start();
        Answer(elsewhere, "/", Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"value": 1}"""));
        Answer(_server, _path, RedirectTo(elsewhere.Url + "/landing"));

        var result = await Networks.PollOnceAsync(Source(kind, _server.Url + _path, Headers), Networks.Policy());

        Assert.True(result.Success, result.Failure);
        var first = Assert.Single(_server.LogEntries, e => e.RequestMessage.Path.StartsWith(_path, StringComparison.Ordinal)).RequestMessage;
        var followed = Assert.Single(elsewhere.LogEntries).RequestMessage;
        foreach (var name in Credentials)
        {
            Assert.NotNull(Header(first, name));
            Assert.Null(Header(followed, name));
        }

        Assert.StartsWith("Roadmap", Header(followed, "User-Agent"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http")]
    [InlineData("json")]
    public async Task PollAsync_RedirectOnTheSameOrigin_KeepsEveryHeader(string kind)
    {
        Answer(_server, _path + "/landing", Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"value": 1}"""));
        Answer(_server, _path + "/start", RedirectTo(_path + "/landing/x"));

        var result = await Networks.PollOnceAsync(Source(kind, _server.Url + _path + "/start", Headers), Networks.Policy());

        Assert.True(result.Success, result.Failure);
        var followed = Assert.Single(_server.LogEntries, e => e.RequestMessage.Path.StartsWith(_path + "/landing", StringComparison.Ordinal)).RequestMessage;
        foreach (var name in Credentials)
        {
            Assert.NotNull(Header(followed, name));
        }
    }

    [Theory]
    [InlineData("http", 301, "GET")]
    [InlineData("http", 302, "GET")]
    [InlineData("http", 303, "GET")]
    [InlineData("http", 307, "POST")]
    [InlineData("http", 308, "POST")]
    [InlineData("json", 301, "GET")]
    [InlineData("json", 302, "GET")]
    [InlineData("json", 307, "POST")]
    public async Task PollAsync_PostRedirected_MethodRewrittenAsBrowsersDo(string kind, int status, string expected)
    {
        Answer(_server, _path + "/landing", Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"value": 1}"""));
        Answer(_server, _path + "/start", RedirectTo(_path + "/landing/x", status));

        var result = await Networks.PollOnceAsync(Source(kind, _server.Url + _path + "/start", "method: POST"), Networks.Policy());

        Assert.True(result.Success, result.Failure);
        var followed = Assert.Single(_server.LogEntries, e => e.RequestMessage.Path.StartsWith(_path + "/landing", StringComparison.Ordinal)).RequestMessage;
        Assert.Equal(expected, followed.Method);
    }

    [Fact]
    public async Task PollAsync_HttpProbeThroughARedirect_LatencyCoversTheWholeChainAndStatusIsTheLast()
    {
        // The first hop alone takes 300 ms: a latency of the last hop only would be a few ms.
        Answer(_server, _path + "/landing", Response.Create().WithStatusCode(204));
        Answer(_server, _path + "/start", RedirectTo(_path + "/landing/x").WithDelay(TimeSpan.FromMilliseconds(300)));

        var result = await Networks.PollOnceAsync(Source("http", _server.Url + _path + "/start"), Networks.Policy());

        Assert.True(result.Success, result.Failure);
        Assert.Equal(204, result.Value(HttpSourceKind.StatusCode));
        Assert.True(result.Value(HttpSourceKind.LatencySeconds) >= 0.3, $"latency {result.Value(HttpSourceKind.LatencySeconds)} s");
    }

    private static readonly string[] Credentials = ["Authorization", "Cookie", "X-Api-Key", "PRIVATE-TOKEN", "Proxy-Authorization", "X-Team"];

    private const string Headers =
        """
        headers:
          Authorization: Bearer t0ken-value
          Cookie: session=c00kie-value
          X-Api-Key: k3y-value
          PRIVATE-TOKEN: pr1vate-value
          Proxy-Authorization: Basic cHJveHk6cHc=
          X-Team: web
        """;
}
