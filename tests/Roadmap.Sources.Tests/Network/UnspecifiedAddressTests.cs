namespace Roadmap.Sources.Tests.Network;

/// <summary>
/// The unspecified addresses under the deny list the README advises against local services: on Linux a connect to
/// 0.0.0.0 reaches 127.0.0.1 and one to :: reaches ::1, so every kind that connects must be denied there before any
/// connect, at the first request and at a redirect hop.
/// </summary>
public sealed class UnspecifiedAddressTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private const string DenyLoopback = "deny: [127.0.0.0/8, ::1/128]";
    private const string ReachesIPv4Loopback = "reaches 127.0.0.1, which is in the network deny list (127.0.0.0/8)";
    private const string IPv6Denied = "denied: :: reaches ::1, which is in the network deny list (::1/128)";

    /// <summary>A source of <paramref name="kind"/> (http, json or redis) aimed at <paramref name="host"/>:<paramref name="port"/>.</summary>
    private static string Source(string kind, string host, int port) => kind switch
    {
        "redis" => $"""
            - id: cache
              kind: redis
              timeout: 5s
              address: "{host}:{port}"
            """,
        _ => Url(kind, $"http://{host}:{port}/"),
    };

    private static string Url(string kind, string url) =>
        $"""
        - id: probe
          kind: {kind}
          timeout: 5s
          url: {url}
        """ + (kind == "json" ? "\n  signals: { value: $.value }" : "");

    [Theory]
    [InlineData("http", "0.0.0.0", "0.0.0.0")]
    [InlineData("http", "0", "0.0.0.0")]
    [InlineData("http", "0.0.0.1", "0.0.0.1")]
    [InlineData("http", "[::ffff:0.0.0.0]", "0.0.0.0")]
    [InlineData("json", "0.0.0.0", "0.0.0.0")]
    [InlineData("json", "0", "0.0.0.0")]
    [InlineData("json", "[::ffff:0.0.0.0]", "0.0.0.0")]
    [InlineData("redis", "0.0.0.0", "0.0.0.0")]
    [InlineData("redis", "0", "0.0.0.0")]
    public async Task PollAsync_ThisHostsIPv4UnspecifiedAddress_DeniedWithoutConnecting(string kind, string host, string judged)
    {
        using var port = new UntouchedPort();

        var result = await Networks.PollOnceAsync(Source(kind, host, port.Port), Networks.Policy(DenyLoopback));

        Assert.Equal($"denied: {judged} {ReachesIPv4Loopback}", result.Failure);
        Assert.False(port.Touched);
    }

    [Theory]
    [InlineData("http")]
    [InlineData("json")]
    [InlineData("redis")]
    public async Task PollAsync_IPv6UnspecifiedAddress_DeniedWithoutConnecting(string kind)
    {
        using var port = UntouchedPort.OnIPv6LoopbackIfAny();

        var result = await Networks.PollOnceAsync(Source(kind, "[::]", port.Port), Networks.Policy(DenyLoopback));

        Assert.Equal(IPv6Denied, result.Failure);
        Assert.False(port.Touched);
    }

    [Theory]
    [InlineData("http")]
    [InlineData("json")]
    public async Task PollAsync_RedirectToTheIPv6UnspecifiedAddress_DeniedAtTheHop(string kind)
    {
        // The server itself is allowed (127.0.0.1); the hop to :: would reach ::1, which is not.
        using var port = UntouchedPort.OnIPv6LoopbackIfAny();
        var path = "/" + Guid.NewGuid().ToString("N");
        wiremock.Server.Given(Request.Create().WithPath(path).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(302).WithHeader("Location", $"http://[::]:{port.Port}/"));
        var url = new UriBuilder(wiremock.Server.Url + path) { Host = "127.0.0.1" }.Uri.ToString();

        var result = await Networks.PollOnceAsync(Url(kind, url), Networks.Policy(DenyLoopback + "\nallow: [127.0.0.1/32]"));

        Assert.Equal(IPv6Denied, result.Failure);
        Assert.Equal(1, wiremock.Server.LogEntries.Count(e => e.RequestMessage.Path == path));
        Assert.False(port.Touched);
    }
}
