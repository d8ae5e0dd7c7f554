using Roadmap.Sources.Http;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Http;

/// <summary>The http kind under settings.network: denied targets, redirect hops and the redirect cap.</summary>
public sealed class HttpSourceNetworkTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private readonly WireMockServer _server = wiremock.Server;
    private readonly string _path = "/" + Guid.NewGuid().ToString("N");

    private static string Probe(string url) =>
        $"""
        - id: web
          kind: http
          timeout: 5s
          url: {url}
        """;

    private void Redirect(string from, string to) =>
        _server.Given(Request.Create().WithPath(from).UsingGet()).RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", to));

    private void Ok(string path) =>
        _server.Given(Request.Create().WithPath(path).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));

    private int RequestsTo(string path) => _server.LogEntries.Count(e => e.RequestMessage.Path == path);

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("http://[fd00:ec2::254]/latest/meta-data/", "denied: fd00:ec2::254 is in the network deny list (fd00:ec2::254/128)")]
    [InlineData("http://[::ffff:169.254.169.254]/", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    public async Task PollAsync_MetadataAddress_FailsDeniedAsData(string url, string expected)
    {
        var result = await Networks.PollOnceAsync(Probe(url), Networks.Policy());

        Assert.False(result.Success);
        Assert.Equal(expected, result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.Null(result.Value(HttpSourceKind.StatusCode));
    }

    [Fact]
    public async Task PollAsync_DeniedLoopbackTarget_NeverConnects()
    {
        using var port = new UntouchedPort();

        var result = await Networks.PollOnceAsync(Probe($"http://127.0.0.1:{port.Port}/"), Networks.Policy("deny: [127.0.0.0/8]"));

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)", result.Failure);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_NameResolvingToADeniedAddress_FailsNamingTheName()
    {
        using var port = new UntouchedPort();
        var policy = Networks.Policy("deny: [127.0.0.0/8]", new Dictionary<string, string[]> { ["internal.test"] = ["127.0.0.1"] });

        var result = await Networks.PollOnceAsync(Probe($"http://internal.test:{port.Port}/"), policy);

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8): internal.test resolves there", result.Failure);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_AllowListOverridesDeny_Succeeds()
    {
        Ok(_path);

        var result = await Networks.PollOnceAsync(Probe(_server.Url + _path), Networks.Policy("deny: [127.0.0.0/8]\nallow: [127.0.0.1/32]"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(HttpSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_LocalhostWithTheRealResolver_Succeeds()
    {
        Ok(_path);
        var url = new UriBuilder(_server.Url + _path) { Host = "localhost" }.Uri;

        var result = await Networks.PollOnceAsync(Probe(url.ToString()), Networks.Policy());

        Assert.True(result.Success, result.Failure);
    }

    [Fact]
    public async Task PollAsync_RedirectToTheMetadataAddress_IsDeniedAtTheHop()
    {
        Redirect(_path, "http://169.254.169.254/latest/meta-data/iam/security-credentials/");

        var result = await Networks.PollOnceAsync(Probe(_server.Url + _path), Networks.Policy());

        Assert.Equal("denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)", result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.Equal(1, RequestsTo(_path));
    }

    [Fact]
    public async Task PollAsync_RedirectToANameResolvingToADeniedAddress_IsDeniedAtTheHop()
    {
        using var port = new UntouchedPort();
        Redirect(_path, $"http://rebound.test:{port.Port}/");
        var policy = Networks.Policy(
            "deny: [127.0.0.2/32]",
            new Dictionary<string, string[]> { ["rebound.test"] = ["127.0.0.2"] });

        var result = await Networks.PollOnceAsync(Probe(_server.Url + _path), policy);

        Assert.Equal("denied: 127.0.0.2 is in the network deny list (127.0.0.2/32): rebound.test resolves there", result.Failure);
        Assert.False(port.Touched);
    }

    [Theory]
    [InlineData(3, null)]
    [InlineData(2, "too many redirects: more than 2 (settings.network.maxRedirects), the last answer was HTTP 302 Found")]
    [InlineData(0, "HTTP 302 Found: redirects are not followed (settings.network.maxRedirects is 0)")]
    public async Task PollAsync_ThreeRedirects_FollowsUpToMaxRedirects(int maxRedirects, string? expected)
    {
        Redirect(_path + "/1", _path + "/2");
        Redirect(_path + "/2", _path + "/3");
        Redirect(_path + "/3", _path + "/4");
        Ok(_path + "/4");

        var result = await Networks.PollOnceAsync(Probe(_server.Url + _path + "/1"), Networks.Policy($"maxRedirects: {maxRedirects}"));

        Assert.Equal(expected, result.Failure);
        Assert.Equal(expected is null ? 1 : 0, result.Value(HttpSourceKind.Up));
        Assert.Equal(expected is null ? 1 : 0, RequestsTo(_path + "/4"));
    }
}
