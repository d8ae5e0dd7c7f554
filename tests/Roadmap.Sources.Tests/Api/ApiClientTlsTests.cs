using System.Security.Cryptography.X509Certificates;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Api;

/// <summary>
/// The API kinds (through json) over TLS against a real SslStream server: the tls block applies to ApiClient's pooled
/// connections, and the deny list still judges a redirect hop over https.
/// </summary>
public sealed class ApiClientTlsTests : IDisposable
{
    private const string Json = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"value\": 7}";

    private readonly TestCertificates _files = new();
    private readonly X509Certificate2 _ca = TestCertificates.Authority("Roadmap API CA");

    public void Dispose() => _files.Dispose();

    private static string Source(string url, string tls) =>
        $"""
        - id: analytics
          kind: json
          timeout: 5s
          url: {url}
          signals: {"{"} value: $.value {"}"}
          tls: {"{"} {tls} {"}"}
        """;

    [Fact]
    public async Task PollAsync_PrivateCaAndClientCertificate_ReadsTheValueAndFailsWithoutThem()
    {
        var clientCa = TestCertificates.Authority("Roadmap Client CA");
        var client = TestCertificates.Leaf(clientCa, ["roadmap"], client: true);
        await using var server = new TlsTestServer(TestCertificates.Leaf(_ca, ["api.test"]), _ => Json, clientCa);
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var certFile = _files.WriteCertificates("client.pem", client);
        var keyFile = _files.WriteKey("client-key.pem", client);
        var policy = Networks.Policy("", new Dictionary<string, string[]> { ["api.test"] = ["127.0.0.1"] });
        var url = $"https://api.test:{server.Port}/stats";

        var systemTrust = await Networks.PollOnceAsync(Source(url, "minVersion: TLS12"), policy);
        var noClient = await Networks.PollOnceAsync(Source(url, $"caFile: {caFile}"), policy);
        var both = await Networks.PollOnceAsync(Source(url, $"caFile: {caFile}, certFile: {certFile}, keyFile: {keyFile}"), policy);

        Assert.StartsWith("TLS handshake failed: the server's certificate is not trusted (", systemTrust.Failure);
        Assert.NotNull(noClient.Failure);
        Assert.True(both.Success, both.Failure);
        Assert.Equal(7, both.Value("value"));
    }

    [Fact]
    public async Task PollAsync_HttpsRedirectToADeniedName_IsDeniedAtTheHop()
    {
        using var untouched = new UntouchedPort();
        await using var server = new TlsTestServer(TestCertificates.Leaf(_ca, ["api.test"]), _ => TlsTestServer.Redirect($"https://inside.test:{untouched.Port}/"));
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var policy = Networks.Policy(
            "deny: [127.0.0.0/8]\nallow: [127.0.0.1/32]",
            new Dictionary<string, string[]> { ["api.test"] = ["127.0.0.1"], ["inside.test"] = ["127.0.0.2"] });

        var result = await Networks.PollOnceAsync(Source($"https://api.test:{server.Port}/stats", $"caFile: {caFile}"), policy);

        Assert.Equal("denied: 127.0.0.2 is in the network deny list (127.0.0.0/8): inside.test resolves there", result.Failure);
        Assert.False(untouched.Touched);
        Assert.Equal(1, server.Handshakes);
    }
}
