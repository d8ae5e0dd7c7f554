using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>The redis kind under settings.network: the address is checked before any connect.</summary>
public sealed class RedisSourceNetworkTests
{
    private static string Source(string address, string timeout = "2s") =>
        $"""
        - id: cache
          kind: redis
          timeout: {timeout}
          address: "{address}"
        """;

    [Theory]
    [InlineData("169.254.169.254:6379", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("[fd00:ec2::254]:6379", "denied: fd00:ec2::254 is in the network deny list (fd00:ec2::254/128)")]
    public async Task PollAsync_MetadataAddress_FailsDeniedAsData(string address, string expected)
    {
        var result = await Networks.PollOnceAsync(Source(address), Networks.Policy());

        Assert.Equal(expected, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_DeniedLoopbackPort_NeverConnects()
    {
        using var port = new UntouchedPort();

        var result = await Networks.PollOnceAsync(Source($"127.0.0.1:{port.Port}"), Networks.Policy("deny: [127.0.0.0/8]"));

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)", result.Failure);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_NameResolvingToADeniedAddress_NeverConnects()
    {
        using var port = new UntouchedPort();
        var policy = Networks.Policy("deny: [127.0.0.0/8]", new Dictionary<string, string[]> { ["cache.test"] = ["127.0.0.1"] });

        var result = await Networks.PollOnceAsync(Source($"cache.test:{port.Port}"), policy);

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8): cache.test resolves there", result.Failure);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_AllowListOverridesDeny_ConnectsToTheRealServer()
    {
        using var server = new RedisServer();

        // The first connect of the client library in a process pays its JIT: room for it on a busy machine.
        var result = await Networks.PollOnceAsync(Source($"127.0.0.1:{server.Port}", "10s"), Networks.Policy("deny: [127.0.0.0/8]\nallow: [127.0.0.1/32]"));

        Assert.True(result.Success, result.Failure);
    }
}
