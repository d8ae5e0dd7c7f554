using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public sealed class NetworkSettingsTests
{
    private static ConfigLoadResult Load(string settings) =>
        new ConfigLoader([new FakeSourceKindSpec()], _ => null).Load($"roadmap: {{name: x}}\n{settings}", "test.yaml");

    private static NetworkSettings Network(string settings)
    {
        var result = Load(settings);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return result.Config!.Settings.Network;
    }

    private static string[] Texts(IEnumerable<System.Net.IPNetwork> networks) => [.. networks.Select(n => n.ToString())];

    [Theory]
    [InlineData("settings: {network: {deny: [10.0.0.0/8], allow: [10.1.0.0/16], maxRedirects: 3}}", "settings: {network: {deny: [10.0.0.0/8], allow: [10.1.0.0/16], maxRedirects: 3}}", true)]
    [InlineData("settings: {network: {deny: [10.0.0.0/8]}}", "settings: {network: {deny: [10.0.0.0/16]}}", false)]
    [InlineData("settings: {network: {allow: [10.1.0.0/16]}}", "settings: {network: {allow: []}}", false)]
    [InlineData("settings: {network: {maxRedirects: 3}}", "settings: {network: {maxRedirects: 4}}", false)]
    public void Equals_TwoLoads_CompareTheAddressListsByValue(string a, string b, bool same)
    {
        // Two loads hold different list instances: a record's own Equals compared those by reference, so a reload of an
        // unchanged file read as a changed network setting.
        var (x, y) = (Network(a), Network(b));

        Assert.Equal(same, x.Equals(y));
        Assert.Equal(same, Load(a).Config!.Settings.Equals(Load(b).Config!.Settings));
        if (same)
        {
            Assert.Equal(x.GetHashCode(), y.GetHashCode());
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("settings: {evaluateEvery: 1m}")]
    [InlineData("settings: {network: {}}")]
    public void Load_NoDenyKey_DeniesLinkLocalAndMetadata(string settings)
    {
        var network = Network(settings);

        Assert.Equal(["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"], Texts(network.Deny));
        Assert.Empty(network.Allow);
        Assert.Equal(5, network.MaxRedirects);
    }

    [Theory]
    [InlineData("deny: []", new string[0])]
    [InlineData("deny:", new string[0])]
    [InlineData("deny: [10.0.0.0/8]", new[] { "10.0.0.0/8" })]
    [InlineData("deny: 192.168.1.10", new[] { "192.168.1.10/32" })]
    [InlineData("deny: [\"fd00::/8\", \"::1\"]", new[] { "fd00::/8", "::1/128" })]
    public void Load_DenyKey_ReplacesTheDefaultList(string deny, string[] expected)
    {
        Assert.Equal(expected, Texts(Network($"settings:\n  network:\n    {deny}\n").Deny));
    }

    [Fact]
    public void Load_AllowAndMaxRedirects_AreRead()
    {
        var network = Network("settings:\n  network:\n    allow: [169.254.169.254/32]\n    maxRedirects: 0\n");

        Assert.Equal(["169.254.169.254/32"], Texts(network.Allow));
        Assert.Equal(0, network.MaxRedirects);
        Assert.Equal(3, network.Deny.Count);
    }

    [Theory]
    [InlineData("10.0.0.0/33", "the prefix length must be a number from 0 to 32")]
    [InlineData("fd00::/129", "the prefix length must be a number from 0 to 128")]
    [InlineData("10.0.0.0/", "the prefix length must be a number from 0 to 32")]
    [InlineData("10.0.0.0/-1", "the prefix length must be a number from 0 to 32")]
    [InlineData("10.1.2.3/8", "the address has bits set past the /8 prefix: did you mean 10.0.0.0/8?")]
    [InlineData("fd00:ec2::254/64", "the address has bits set past the /64 prefix: did you mean fd00:ec2::/64?")]
    [InlineData("example.com/24", "expected an address with a prefix length, e.g. 10.0.0.0/8 or fd00::/8")]
    [InlineData("fe80::1%eth0/128", "expected an address with a prefix length, e.g. 10.0.0.0/8 or fd00::/8")]
    public void TryParseCidr_Bad_SaysWhy(string text, string expected)
    {
        Assert.False(NetworkSettings.TryParseCidr(text, out _, out var problem));
        Assert.Equal(expected, problem);
    }

    [Theory]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("169.254.0.0/16", "169.254.0.0/16")]
    [InlineData("10.1.2.3", "10.1.2.3/32")]
    [InlineData("fd00:ec2::254", "fd00:ec2::254/128")]
    [InlineData("fe80::/10", "fe80::/10")]
    public void TryParseCidr_Good_IsTheNetwork(string text, string expected)
    {
        Assert.True(NetworkSettings.TryParseCidr(text, out var network, out var problem), problem);
        Assert.Equal(expected, network.ToString());
    }

    [Fact]
    public void Load_SeveralBadEntries_ReportsEachWhereItIs()
    {
        var errors = Load("settings:\n  network:\n    deny: [10.0.0.0/8, nope]\n    allow:\n      - 1.2.3.4/40\n    maxRedirects: 21\n").Errors.Select(e => e.ToString());

        Assert.Equal(
            [
                "test.yaml:4:24: settings.network.deny[1]: bad CIDR \"nope\": expected an address with a prefix length, e.g. 10.0.0.0/8 or fd00::/8",
                "test.yaml:6:9: settings.network.allow[0]: bad CIDR \"1.2.3.4/40\": the prefix length must be a number from 0 to 32",
                "test.yaml:7:19: settings.network.maxRedirects: bad number \"21\": expected a whole number from 0 to 20",
            ],
            errors);
    }
}
