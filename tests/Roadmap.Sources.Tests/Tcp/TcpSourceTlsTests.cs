using System.Security.Cryptography.X509Certificates;
using Roadmap.Sources.Tcp;
using Roadmap.Sources.Tests.Http;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Tcp;

/// <summary>
/// The tcp kind with a tls block against a real SslStream server on 127.0.0.1 with certificates made here: the private
/// CA, the TLS signals, send and expect over the TLS stream, and the network policy before any connect.
/// </summary>
public sealed class TcpSourceTlsTests : IDisposable
{
    private static readonly string[] ShopNames = ["shop.test"];

    private readonly TestCertificates _files = new();
    private readonly X509Certificate2 _ca = TestCertificates.Authority("Roadmap Test CA");

    // shop.test stands in for a DNS name of 127.0.0.1 (the policy's resolver), so the certificate can name the host.
    private readonly Roadmap.Sources.Network.NetworkPolicy _policy = Networks.Policy("", new Dictionary<string, string[]> { ["shop.test"] = ["127.0.0.1"] });

    public void Dispose() => _files.Dispose();

    private static string Probe(string address, string tls, params string[] keys) =>
        string.Join('\n', new[] { "- id: port", "  kind: tcp", "  timeout: 5s", $"  address: {address}", $"  tls: {{ {tls} }}" }.Concat(keys.Select(k => "  " + k)));

    private Task<PollResult> PollAsync(int port, string tls, params string[] keys) => Networks.PollOnceAsync(Probe($"shop.test:{port}", tls, keys), _policy);

    [Fact]
    public async Task PollAsync_PrivateCa_FailsWithoutCaFileAndPassesWithIt()
    {
        await using var server = new TlsTestServer(TestCertificates.Leaf(_ca, ShopNames));
        var caFile = _files.WriteCertificates("ca.pem", _ca);

        var without = await PollAsync(server.Port, "");
        var with = await PollAsync(server.Port, $"caFile: {caFile}");

        Assert.StartsWith("TLS handshake failed: the server's certificate is not trusted (", without.Failure);
        Assert.Contains("tls.caFile", without.Failure);
        Assert.Equal(0, without.Value(TcpSourceKind.Up));
        Assert.NotNull(without.Value(TcpSourceKind.ConnectSeconds));
        Assert.Null(without.Value(TcpSourceKind.TlsVersion));
        Assert.True(with.Success, with.Failure);
        Assert.Equal(1, with.Value(TcpSourceKind.Up));
        Assert.Contains(with.Value(TcpSourceKind.TlsVersion), new double?[] { 1.2, 1.3 });
        Assert.InRange(with.Value(TcpSourceKind.TlsSeconds)!.Value, 0, with.Duration.TotalSeconds);
        // The server counts a handshake once its side returns, which may come after the probe has finished; under TLS 1.3
        // its side of the refused handshake can return too (the client refuses the certificate after the server is done),
        // so only "at least the accepted one" is certain.
        Assert.True(SpinWait.SpinUntil(() => server.Handshakes >= 1, TimeSpan.FromSeconds(10)), "the server saw no handshake");
    }

    [Fact]
    public async Task PollAsync_LeafExpiringInThreeDays_CertExpirySecondsNearThreeDays()
    {
        var notAfter = DateTimeOffset.UtcNow.AddDays(3);
        await using var server = new TlsTestServer(TestCertificates.Leaf(_ca, ShopNames, notAfter));
        var caFile = _files.WriteCertificates("ca.pem", _ca);

        var result = await PollAsync(server.Port, $"caFile: {caFile}");

        Assert.True(result.Success, result.Failure);
        // The CA lives longer: the earliest of the chain is the leaf's. A wide band: only "about three days" matters.
        Assert.InRange(result.Value(TcpSourceKind.CertExpirySeconds)!.Value, TimeSpan.FromDays(2.5).TotalSeconds, TimeSpan.FromDays(3.5).TotalSeconds);
    }

    [Fact]
    public async Task PollAsync_SendAndExpect_GoOverTheTlsStream()
    {
        // The server reads up to a blank line after the handshake and answers with what it makes of the second word:
        // an answer naming what was sent proves both directions went through TLS.
        await using var server = new TlsTestServer(TestCertificates.Leaf(_ca, ShopNames), path => $"+PONG {path}\r\n");
        var caFile = _files.WriteCertificates("ca.pem", _ca);

        var result = await PollAsync(server.Port, $"caFile: {caFile}", "send: \"PING /over-tls\\r\\n\\r\\n\"", "expect: ^\\+PONG /over-tls$");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, server.Handshakes);
    }

    [Fact]
    public async Task PollAsync_ServerSilentInTheHandshake_TimesOutSayingSo()
    {
        await using var server = new RawTcpServer((_, ct) => Task.Delay(Timeout.Infinite, ct));

        var result = await Networks.PollOnceAsync(Probe($"shop.test:{server.Url.Port}", "").Replace("timeout: 5s", "timeout: 1s", StringComparison.Ordinal), _policy);

        Assert.Equal("timeout after 1s in the TLS handshake", result.Failure);
        Assert.NotNull(result.Value(TcpSourceKind.ConnectSeconds));
        Assert.Null(result.Value(TcpSourceKind.TlsSeconds));
    }

    [Fact]
    public async Task PollAsync_DeniedAddressWithTls_NeverConnects()
    {
        using var port = new UntouchedPort();
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var policy = Networks.Policy("deny: [127.0.0.0/8]", new Dictionary<string, string[]> { ["shop.test"] = ["127.0.0.1"] });

        var result = await Networks.PollOnceAsync(Probe($"shop.test:{port.Port}", $"caFile: {caFile}"), policy);

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8): shop.test resolves there", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
        Assert.False(port.Touched);
    }
}
