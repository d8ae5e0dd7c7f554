using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tests.Network;

public sealed class NetworkPolicyTests
{
    [Theory]
    [InlineData("169.254.169.254", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("169.254.170.2", "denied: 169.254.170.2 is in the network deny list (169.254.0.0/16)")]
    [InlineData("fd00:ec2::254", "denied: fd00:ec2::254 is in the network deny list (fd00:ec2::254/128)")]
    [InlineData("fe80::1", "denied: fe80::1 is in the network deny list (fe80::/10)")]
    // An IPv4-mapped IPv6 address reaches the IPv4 one: it must not slip past the IPv4 entry.
    [InlineData("::ffff:169.254.169.254", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("127.0.0.1", null)]
    [InlineData("::1", null)]
    [InlineData("10.0.0.1", null)]
    [InlineData("169.255.0.1", null)]
    [InlineData("fd00:ec2::253", null)]
    public void Check_DefaultPolicy_DeniesLinkLocalAndMetadataOnly(string address, string? expected)
    {
        Assert.Equal(expected, Networks.Policy().Check(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("169.254.169.254", "169.254.169.254")]
    [InlineData("::ffff:169.254.169.254", "169.254.169.254")] // the IPv4 address itself: the socket sends IPv4
    [InlineData("0.0.0.0", "0.0.0.0 127.0.0.1")] // this host: Linux connects it to 127.0.0.1
    [InlineData("0.1.2.3", "0.1.2.3 127.0.0.1")] // all of 0.0.0.0/8, "this network"
    [InlineData("::ffff:0.0.0.0", "0.0.0.0 127.0.0.1")]
    [InlineData("::", ":: ::1")]
    [InlineData("::1", "::1")]
    [InlineData("::169.254.169.254", "::169.254.169.254 169.254.169.254")] // IPv4-compatible
    [InlineData("::0.0.0.2", "::2 0.0.0.2 127.0.0.1")]
    [InlineData("::ffff:0:169.254.169.254", "::ffff:0:169.254.169.254 169.254.169.254")] // IPv4-translated (SIIT)
    [InlineData("64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe 169.254.169.254")] // NAT64, well-known prefix
    [InlineData("64:ff9b::0.0.0.0", "64:ff9b:: 0.0.0.0")] // through a translator 0.0.0.0 is not this host
    [InlineData("64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1:a9fe:a9:fe00:: 169.254.169.254 254.169.254.0 169.254.0.0 0.0.0.0")] // local-use, /48
    [InlineData("64:ff9b:1::169.254.169.254", "64:ff9b:1::a9fe:a9fe 0.0.0.0 0.0.0.0 0.0.0.169 169.254.169.254")] // local-use, /96
    [InlineData("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1 169.254.169.254")] // 6to4
    [InlineData("2001:0:a9fe:a9fe::5601:5601", "2001:0:a9fe:a9fe::5601:5601 169.254.169.254 169.254.169.254")] // Teredo: server, client
    [InlineData("64:ff9c::a9fe:a9fe", "64:ff9c::a9fe:a9fe")] // no embedded address
    [InlineData("2001:db8::a9fe:a9fe", "2001:db8::a9fe:a9fe")]
    [InlineData("fe80::1", "fe80::1")]
    public void Destinations_Address_AreWherePacketsGo(string address, string expected)
    {
        Assert.Equal(expected, string.Join(' ', NetworkPolicy.Destinations(IPAddress.Parse(address))));
    }

    [Theory]
    [InlineData("0.0.0.0", "denied: 0.0.0.0 reaches 127.0.0.1, which is in the network deny list (127.0.0.0/8)")]
    [InlineData("0.0.0.1", "denied: 0.0.0.1 reaches 127.0.0.1, which is in the network deny list (127.0.0.0/8)")]
    [InlineData("::ffff:0.0.0.0", "denied: 0.0.0.0 reaches 127.0.0.1, which is in the network deny list (127.0.0.0/8)")]
    [InlineData("::", "denied: :: reaches ::1, which is in the network deny list (::1/128)")]
    [InlineData("::ffff:127.0.0.1", "denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)")]
    [InlineData("::127.0.0.1", "denied: ::127.0.0.1 reaches 127.0.0.1, which is in the network deny list (127.0.0.0/8)")]
    [InlineData("::169.254.169.254", "denied: ::169.254.169.254 reaches 169.254.169.254, which is in the network deny list (169.254.0.0/16)")]
    [InlineData("::ffff:0:169.254.169.254", "denied: ::ffff:0:169.254.169.254 reaches 169.254.169.254, which is in the network deny list (169.254.0.0/16)")]
    [InlineData("64:ff9b::169.254.169.254", "denied: 64:ff9b::a9fe:a9fe reaches 169.254.169.254, which is in the network deny list (169.254.0.0/16)")]
    [InlineData("64:ff9b:1::169.254.169.254", "denied: 64:ff9b:1::a9fe:a9fe reaches 169.254.169.254, which is in the network deny list (169.254.0.0/16)")]
    [InlineData("2002:a9fe:a9fe::1", "denied: 2002:a9fe:a9fe::1 reaches 169.254.169.254, which is in the network deny list (169.254.0.0/16)")]
    [InlineData("2001:0:a9fe:a9fe::5601:5601", "denied: 2001:0:a9fe:a9fe::5601:5601 reaches 169.254.169.254, which is in the network deny list (169.254.0.0/16)")]
    [InlineData("64:ff9b::0.0.0.0", null)] // a translator does not send 0.0.0.0 back to this host
    [InlineData("64:ff9b:1::10.0.0.1", null)] // local-use: the zero bytes read at shorter prefixes are 0.0.0.0, not this host
    [InlineData("64:ff9b::10.0.0.1", null)]
    [InlineData("::ffff:10.0.0.1", null)]
    [InlineData("1.0.0.0", null)]
    public void Check_LoopbackAndMetadataDenied_JudgesWherePacketsGo(string address, string? expected)
    {
        var policy = Networks.Policy("deny: [127.0.0.0/8, ::1/128, 169.254.0.0/16]");

        Assert.Equal(expected, policy.Check(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("0.0.0.0", null)] // it reaches 127.0.0.1, which is allowed
    [InlineData("64:ff9b::169.254.169.254", null)]
    [InlineData("64:ff9b::169.254.169.253", "denied: 64:ff9b::a9fe:a9fd reaches 169.254.169.253, which is in the network deny list (169.254.0.0/16)")]
    public void Check_AllowListed_CoversEveryFormOfTheAddress(string address, string? expected)
    {
        var policy = Networks.Policy("deny: [127.0.0.0/8, 169.254.0.0/16]\nallow: [127.0.0.1/32, 169.254.169.254/32]");

        Assert.Equal(expected, policy.Check(IPAddress.Parse(address)));
    }

    [Fact]
    public void Check_DenyTheNat64Prefix_DeniesItWhateverItCarries()
    {
        // The IPv6 address is judged too: a deny entry for the translator's prefix still holds.
        var policy = Networks.Policy("deny: [64:ff9b::/96]");

        Assert.Equal("denied: 64:ff9b::a00:1 is in the network deny list (64:ff9b::/96)", policy.Check(IPAddress.Parse("64:ff9b::10.0.0.1")));
    }

    [Theory]
    [InlineData("10.1.2.3", null)]
    [InlineData("10.2.0.1", "denied: 10.2.0.1 is in the network deny list (10.0.0.0/8)")]
    [InlineData("169.254.169.254", null)]
    public void Check_DenyReplacedAndAllowListed_AllowOverridesDeny(string address, string? expected)
    {
        // deny replaces the default list: 169.254.169.254 is reachable here.
        var policy = Networks.Policy("deny: [10.0.0.0/8]\nallow: [10.1.0.0/16]");

        Assert.Equal(expected, policy.Check(IPAddress.Parse(address)));
    }

    [Fact]
    public void Check_DenyEmpty_AllowsEverything()
    {
        var policy = Networks.Policy("deny: []");

        Assert.Null(policy.Check(IPAddress.Parse("169.254.169.254")));
        Assert.Null(policy.Check(IPAddress.Parse("fd00:ec2::254")));
    }

    [Fact]
    public void Check_AllowOnlyTheMetadataAddress_OpensJustThatAddress()
    {
        var policy = Networks.Policy("allow: [169.254.169.254/32]");

        Assert.Null(policy.Check(IPAddress.Parse("169.254.169.254")));
        Assert.NotNull(policy.Check(IPAddress.Parse("169.254.169.253")));
    }

    [Fact]
    public async Task ResolveAsync_NameResolvingToADeniedAddress_ThrowsNamingTheNameAndAddress()
    {
        var policy = Networks.Policy(names: new Dictionary<string, string[]> { ["metadata.test"] = ["169.254.169.254"] });

        var e = await Assert.ThrowsAsync<NetworkDeniedException>(async () => await policy.ResolveAsync("metadata.test", CancellationToken.None));

        Assert.Equal("denied: 169.254.169.254 is in the network deny list (169.254.0.0/16): metadata.test resolves there", e.Message);
    }

    [Fact]
    public async Task ResolveAsync_SomeAddressesDenied_KeepsOnlyTheAllowedInOrder()
    {
        var policy = Networks.Policy(names: new Dictionary<string, string[]> { ["mixed.test"] = ["169.254.169.254", "127.0.0.2", "fd00:ec2::254", "127.0.0.3"] });

        var addresses = await policy.ResolveAsync("mixed.test", CancellationToken.None);

        Assert.Equal(["127.0.0.2", "127.0.0.3"], addresses.Select(a => a.ToString()));
    }

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("[fd00:ec2::254]")]
    [InlineData("fd00:ec2::254")]
    public async Task ResolveAsync_DeniedLiteral_ThrowsWithoutALookup(string host)
    {
        var lookups = new List<string>();
        var policy = Networks.Policy(names: new Dictionary<string, string[]>(), lookups: lookups);

        var e = await Assert.ThrowsAsync<NetworkDeniedException>(async () => await policy.ResolveAsync(host, CancellationToken.None));

        Assert.StartsWith("denied: ", e.Message, StringComparison.Ordinal);
        Assert.Empty(lookups);
    }

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("[::1]", "::1")]
    public async Task ResolveAsync_AllowedLiteral_IsTheAddressWithoutALookup(string host, string expected)
    {
        var lookups = new List<string>();
        var policy = Networks.Policy(names: new Dictionary<string, string[]>(), lookups: lookups);

        var addresses = await policy.ResolveAsync(host, CancellationToken.None);

        Assert.Equal([expected], addresses.Select(a => a.ToString()));
        Assert.Empty(lookups);
    }

    [Fact]
    public async Task ResolveAsync_LocalhostWithTheRealResolver_IsLoopback()
    {
        var addresses = await Networks.Policy().ResolveAsync("localhost", CancellationToken.None);

        Assert.NotEmpty(addresses);
        Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a), $"{a} is not loopback"));
    }

    [Fact]
    public async Task ResolveAsync_LocalhostDeniedWithTheRealResolver_Throws()
    {
        var policy = Networks.Policy("deny: [127.0.0.0/8, ::1/128]");

        var e = await Assert.ThrowsAsync<NetworkDeniedException>(async () => await policy.ResolveAsync("localhost", CancellationToken.None));

        Assert.EndsWith(": localhost resolves there", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAllAllowedAsync_OneOfSeveralAddressesDenied_Throws()
    {
        // For clients that resolve again themselves: any address of the name might be the one they pick.
        var policy = Networks.Policy(names: new Dictionary<string, string[]> { ["db.test"] = ["127.0.0.1", "169.254.1.1"] });

        var e = await Assert.ThrowsAsync<NetworkDeniedException>(async () => await policy.EnsureAllAllowedAsync("db.test", CancellationToken.None));

        Assert.Equal("denied: 169.254.1.1 is in the network deny list (169.254.0.0/16): db.test resolves there", e.Message);
    }

    [Fact]
    public void MaxRedirects_DefaultAndSet_AreTheConfigured()
    {
        Assert.Equal(5, Networks.Policy().MaxRedirects);
        Assert.Equal(0, Networks.Policy("maxRedirects: 0").MaxRedirects);
    }
}
