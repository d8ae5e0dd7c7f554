using System.Net;
using System.Net.Sockets;
using Roadmap.Sources.DnsProbe;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.DnsProbe;

/// <summary>The dns kind against a DNS server in the test: good answers, error codes, truncation, and hostile answers.</summary>
public class DnsSourceTests
{
    private static string Probe(int port, string timeout = "5s", params string[] keys) =>
        string.Join('\n', new[] { "- id: resolver", "  kind: dns", "  every: 1m", $"  timeout: {timeout}", $"  server: 127.0.0.1:{port}", "  name: shop.example.com" }
            .Concat(keys.Select(k => "  " + k)));

    private static Task<PollResult> PollAsync(string source) => Networks.PollOnceAsync(source, Networks.Policy());

    [Fact]
    public async Task PollAsync_ServerAnswers_UpWithLookupSecondsAndAnswerCount()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5"), DnsWire.ARecord("10.0.0.6")])]);

        var result = await PollAsync(Probe(server.Port, "5s", "expect: { answer: 10\\.0\\.0\\.6 }"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(DnsSourceKind.Up));
        Assert.Equal(2, result.Value(DnsSourceKind.AnswerCount));
        Assert.InRange(result.Value(DnsSourceKind.LookupSeconds)!.Value, 0, result.Duration.TotalSeconds);
        var (query, tcp) = Assert.Single(server.Queries);
        Assert.False(tcp);
        Assert.Equal((byte[])[.. DnsWire.Name("shop.example.com"), 0, 1, 0, 1], DnsWire.Question(query));
    }

    [Fact]
    public async Task PollAsync_NoAnswerMatches_DownListingTheAnswers()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [DnsWire.ARecord("10.0.0.55")])]);

        // The pattern must match a whole answer: 10.0.0.5 is no prefix match of 10.0.0.55.
        var result = await PollAsync(Probe(server.Port, "5s", "expect: { answer: 10\\.0\\.0\\.5 }"));

        Assert.Equal("no answer matched expect.answer (A answers: 10.0.0.55)", result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
        Assert.Equal(1, result.Value(DnsSourceKind.AnswerCount));
    }

    [Theory]
    [InlineData(3, "rcode NXDOMAIN, expected NOERROR")]
    [InlineData(2, "rcode SERVFAIL, expected NOERROR")]
    [InlineData(5, "rcode REFUSED, expected NOERROR")]
    public async Task PollAsync_ErrorRcode_DownNamingIt(int rcode, string expected)
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [], rcode)]);

        var result = await PollAsync(Probe(server.Port));

        Assert.Equal(expected, result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
        Assert.Equal(0, result.Value(DnsSourceKind.AnswerCount));
    }

    [Fact]
    public async Task PollAsync_NxdomainExpected_Up()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [], rcode: 3)]);

        var result = await PollAsync(Probe(server.Port, "5s", "expect: { rcode: [NXDOMAIN] }"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(DnsSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_TruncatedOverUdp_AsksAgainOverTcp()
    {
        var records = Enumerable.Range(1, 40).Select(i => DnsWire.ARecord($"10.0.1.{i}")).ToArray();
        await using var server = new DnsTestServer((q, tcp) => tcp ? [DnsWire.Response(q, records)] : [DnsWire.Response(q, records[..3], truncated: true)]);

        var result = await PollAsync(Probe(server.Port, "5s", "expect: { answer: 10\\.0\\.1\\.40 }"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(40, result.Value(DnsSourceKind.AnswerCount));
        Assert.Equal([false, true], server.Queries.Select(q => q.Tcp));
    }

    [Fact]
    public async Task PollAsync_AnswerWithAnotherIdFirst_SkipsItAndTakesTheRightOne()
    {
        await using var server = new DnsTestServer((q, _) =>
            [DnsWire.Response(q, [DnsWire.ARecord("6.6.6.6")], id: (ushort)(DnsWire.Id(q) ^ 0x5555)), DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5")])]);

        var result = await PollAsync(Probe(server.Port, "5s", "expect: { answer: 10\\.0\\.0\\.5 }"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(DnsSourceKind.AnswerCount));
    }

    [Fact]
    public async Task PollAsync_FloodOfAnswersWithAnotherId_FailsAtTheSkipCapBeforeTheTimeout()
    {
        await using var server = new DnsTestServer((q, _) =>
            [.. Enumerable.Range(1, 50).Select(i => DnsWire.Response(q, [], id: (ushort)(DnsWire.Id(q) ^ i)))]);

        var result = await PollAsync(Probe(server.Port, "30s"));

        Assert.Equal($"bad answer over UDP: {DnsSource.MaxSkippedDatagrams} answers to another query (their ids differ), none to this one", result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_OnlyAnAnswerWithAnotherId_TimesOutSayingSo()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [], id: (ushort)(DnsWire.Id(q) ^ 1))]);

        var result = await PollAsync(Probe(server.Port, "1s"));

        Assert.Equal("timeout after 1s waiting for an answer over UDP (1 answers to another query skipped)", result.Failure);
    }

    [Fact]
    public async Task PollAsync_ServerSilent_TimesOut()
    {
        await using var server = new DnsTestServer((_, _) => []);

        var result = await PollAsync(Probe(server.Port, "1s"));

        Assert.Equal("timeout after 1s waiting for an answer over UDP", result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
        Assert.Null(result.Value(DnsSourceKind.LookupSeconds));
    }

    [Fact]
    public async Task PollAsync_CompressionLoop_BadAnswer()
    {
        // The answer's owner name points at itself.
        await using var server = new DnsTestServer((q, _) =>
        {
            var response = DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5")]);
            var owner = 12 + DnsWire.Question(q).Length;
            response[owner] = (byte)(0xC0 | (owner >> 8));
            response[owner + 1] = (byte)owner;
            return [response];
        });

        var result = await PollAsync(Probe(server.Port));

        Assert.Equal("bad answer over UDP: answer 1 of 1: a name's compression pointer does not point backwards (a loop?)", result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_HugeAnswerCountWithOneRecord_BadAnswer()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5")], claimedAnswers: 65535)]);

        var result = await PollAsync(Probe(server.Port));

        Assert.Equal("bad answer over UDP: answer 2 of 65535: a name runs past the end of its data", result.Failure);
    }

    [Fact]
    public async Task PollAsync_TruncatedMessage_BadAnswer()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5")])[..^2]]);

        var result = await PollAsync(Probe(server.Port));

        Assert.Equal("bad answer over UDP: answer 1 of 1: its data (4 bytes) runs past the end of the message (48 bytes)", result.Failure);
    }

    [Fact]
    public async Task PollAsync_AnswerToAnotherQuestion_BadAnswer()
    {
        await using var server = new DnsTestServer((q, _) =>
            [DnsWire.Response(q, [DnsWire.ARecord("6.6.6.6")], question: [.. DnsWire.Name("evil.example.net"), 0, 1, 0, 1])]);

        var result = await PollAsync(Probe(server.Port));

        Assert.Equal("bad answer over UDP: the response is to another question (evil.example.net. type 1 class 1)", result.Failure);
    }

    [Fact]
    public async Task PollAsync_NothingListening_ConnectionRefused()
    {
        int port;
        using (var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = ((IPEndPoint)udp.Client.LocalEndPoint!).Port;
        }

        var result = await PollAsync(Probe(port));

        Assert.Equal("connection refused (UDP)", result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_DeniedServer_SendsNothing()
    {
        await using var server = new DnsTestServer((q, _) => [DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5")])]);

        var result = await Networks.PollOnceAsync(Probe(server.Port), Networks.Policy("deny: [127.0.0.0/8]"));

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)", result.Failure);
        Assert.Equal(0, result.Value(DnsSourceKind.Up));
        Assert.Empty(server.Queries);
    }
}
