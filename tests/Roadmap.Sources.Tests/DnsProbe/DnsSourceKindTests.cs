using Roadmap.Sources.DnsProbe;

namespace Roadmap.Sources.Tests.DnsProbe;

public class DnsSourceKindTests
{
    private static string Source(params string[] keys) =>
        string.Join('\n', new[] { "- id: resolver", "  kind: dns" }.Concat(keys.Select(k => "  " + k)));

    [Fact]
    public void Bind_EveryKey_ReadsThem()
    {
        var config = TestConfigs.Source(Source("server: \"[::1]:5353\"", "name: example.com.", "type: mx", "expect: { rcode: [noerror, NXDOMAIN], answer: \"10 mail\\\\..*\" }"));

        Assert.Equal(new DnsOptions("::1", 5353, "example.com.", "MX", ["NOERROR", "NXDOMAIN"], "10 mail\\..*"), config.Options);
        Assert.Equal([DnsSourceKind.Up, DnsSourceKind.LookupSeconds, DnsSourceKind.AnswerCount], config.Signals);
    }

    [Theory]
    [InlineData("10.0.0.2", "10.0.0.2", 53)]
    [InlineData("\"[fd00::53]\"", "fd00::53", 53)]
    [InlineData("dns.internal", "dns.internal", 53)]
    [InlineData("dns.internal:5353", "dns.internal", 5353)]
    public void Bind_ServerWithoutPort_Port53(string server, string host, int port)
    {
        var options = Assert.IsType<DnsOptions>(TestConfigs.Source(Source($"server: {server}", "name: x.example")).Options);

        Assert.Equal((host, port, "A", (string?)null), (options.ServerHost, options.ServerPort, options.Type, options.ExpectAnswer));
        Assert.Equal(["NOERROR"], options.ExpectRcodes);
    }

    [Theory]
    [InlineData("server: \"::1\"", "sources[resolver].server: bad address \"::1\": put an IPv6 address in brackets, e.g. [::1]:53")]
    [InlineData("name: \"a..b\"", "sources[resolver].name: bad name \"a..b\": each label (the parts between dots) must have 1 to 63 characters")]
    [InlineData("type: ANY", "sources[resolver].type: unknown value \"ANY\": expected one of A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV")]
    [InlineData("expect: { rcode: [NOPE] }", "sources[resolver].expect.rcode: unknown response code \"NOPE\"")]
    [InlineData("expect: { answer: \"(?<=a)b\" }", "sources[resolver].expect.answer: not supported here")]
    [InlineData("expect: { other: 1 }", "sources[resolver].expect")]
    public void Bind_BadKey_ReportsItAtItsPlace(string key, string expected)
    {
        var keys = new List<string> { "server: 10.0.0.2", "name: x.example" };
        keys.RemoveAll(k => k.Split(':')[0] == key.Split(':')[0]);
        keys.Add(key);

        var errors = TestConfigs.Errors(Source([.. keys]));

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WarmUpAsync_LoopbackDenied_StillCompletes()
    {
        // The warm-up's stand-in is on loopback; a deny list covering loopback must not make it wait for a probe
        // that never comes.
        var context = Roadmap.Sources.Tests.Network.Networks.Context(Roadmap.Sources.Tests.Network.Networks.Policy("deny: [127.0.0.0/8]"));

        await new DnsSourceKind().WarmUpAsync(context, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
    }
}
