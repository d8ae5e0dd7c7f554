using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Api;

/// <summary>The API kinds (through json) under settings.network: ApiClient's own redirect loop and its connects.</summary>
public sealed class ApiClientNetworkTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private readonly WireMockServer _server = wiremock.Server;
    private readonly string _path = "/" + Guid.NewGuid().ToString("N");

    private static string Source(string url) =>
        $"""
        - id: analytics
          kind: json
          timeout: 5s
          url: {url}
          signals: {"{"} value: $.value {"}"}
        """;

    private void Redirect(string from, string to) =>
        _server.Given(Request.Create().WithPath(from).UsingGet()).RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", to));

    private void Ok(string path) =>
        _server.Given(Request.Create().WithPath(path).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"value": 7}"""));

    private int RequestsTo(string path) => _server.LogEntries.Count(e => e.RequestMessage.Path == path);

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("http://[fd00:ec2::254]/", "denied: fd00:ec2::254 is in the network deny list (fd00:ec2::254/128)")]
    public async Task PollAsync_MetadataAddress_FailsDeniedAsData(string url, string expected)
    {
        var result = await Networks.PollOnceAsync(Source(url), Networks.Policy());

        Assert.Equal(expected, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_RedirectToTheMetadataAddress_IsDeniedAtTheHopAndNotRetried()
    {
        Redirect(_path, "http://169.254.169.254/latest/meta-data/");

        var result = await Networks.PollOnceAsync(Source(_server.Url + _path), Networks.Policy());

        Assert.Equal("denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)", result.Failure);
        // A denial is no transient failure: retrying would ask the server again for nothing.
        Assert.Equal(1, RequestsTo(_path));
    }

    [Fact]
    public async Task PollAsync_DeniedNameBehindARedirect_NeverConnects()
    {
        using var port = new UntouchedPort();
        Redirect(_path, $"http://inside.test:{port.Port}/stats");
        var policy = Networks.Policy("deny: [127.0.0.2/32]", new Dictionary<string, string[]> { ["inside.test"] = ["127.0.0.2"] });

        var result = await Networks.PollOnceAsync(Source(_server.Url + _path), policy);

        Assert.Equal("denied: 127.0.0.2 is in the network deny list (127.0.0.2/32): inside.test resolves there", result.Failure);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_AllowListOverridesDeny_Succeeds()
    {
        Ok(_path);

        var result = await Networks.PollOnceAsync(Source(_server.Url + _path), Networks.Policy("deny: [127.0.0.0/8, ::1/128]\nallow: [127.0.0.1/32, ::1/128]"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(7, result.Value("value"));
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

        var result = await Networks.PollOnceAsync(Source(_server.Url + _path + "/1"), Networks.Policy($"maxRedirects: {maxRedirects}"));

        Assert.Equal(expected, result.Failure);
        Assert.Equal(expected is null ? 1 : 0, RequestsTo(_path + "/4"));
    }
}
