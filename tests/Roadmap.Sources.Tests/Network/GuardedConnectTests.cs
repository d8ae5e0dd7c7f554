using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tests.Network;

public sealed class GuardedConnectTests
{
    [Fact]
    public async Task ConnectAsync_DeniedLoopbackPort_NeverConnects()
    {
        using var port = new UntouchedPort();
        var policy = Networks.Policy("deny: [127.0.0.1/32]");

        var e = await Assert.ThrowsAsync<NetworkDeniedException>(async () =>
            await GuardedConnect.ConnectAsync(policy, new DnsEndPoint("127.0.0.1", port.Port), CancellationToken.None));

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.1/32)", e.Message);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task ConnectAsync_NameWithADeniedAndAnAllowedAddress_ConnectsToTheAllowedOne()
    {
        using var port = new UntouchedPort();
        // 127.0.0.2 is denied and listed first: a connect that took the resolver's first answer would go there.
        var policy = Networks.Policy("deny: [127.0.0.2/32]", new Dictionary<string, string[]> { ["svc.test"] = ["127.0.0.2", "127.0.0.1"] });

        await using var stream = await GuardedConnect.ConnectAsync(policy, new DnsEndPoint("svc.test", port.Port), CancellationToken.None);

        Assert.True(port.Touched);
    }

    [Fact]
    public async Task ConnectAsync_ResolvedOncePerConnect_ChecksTheAddressItConnectsTo()
    {
        // A rebinding resolver: allowed at the first lookup, denied at any later one. The connect looks up once and
        // uses that answer, so there is no second answer to connect to.
        using var port = new UntouchedPort();
        var lookups = 0;
        var policy = new NetworkPolicy(
            Networks.Policy("deny: [127.0.0.2/32]").Settings,
            (_, _) => Task.FromResult(new[] { IPAddress.Parse(Interlocked.Increment(ref lookups) == 1 ? "127.0.0.1" : "127.0.0.2") }));

        await using var stream = await GuardedConnect.ConnectAsync(policy, new DnsEndPoint("rebind.test", port.Port), CancellationToken.None);

        Assert.Equal(1, lookups);
        Assert.True(port.Touched);
    }
}
