using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Roadmap.Worker.Tests.Hosting;

/// <summary>TLS through Kestrel's own certificate settings: a self-signed PEM pair made here, trusted only by this test's client.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A self-signed certificate for 127.0.0.1, written as cert.pem and key.pem.</summary>
    internal static X509Certificate2 WritePemPair(string dir, out string certPath, out string keyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=roadmap-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        var cert = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        certPath = Path.Combine(dir, "cert.pem");
        keyPath = Path.Combine(dir, "key.pem");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return cert;
    }

    /// <summary>A client that trusts exactly <paramref name="cert"/>.</summary>
    internal static HttpClient TrustingClient(X509Certificate2 cert, Uri address)
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.RawData.AsSpan().SequenceEqual(cert.RawData),
        };
        return new HttpClient(handler) { BaseAddress = address };
    }

    [Fact]
    public async Task Healthz_OverHttpsWithPemCertificateFromKestrelSettings_Answers()
    {
        using var cert = WritePemPair(_dir.Path, out var certPath, out var keyPath);
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Https:Url"] = "https://127.0.0.1:0",
            ["Kestrel:Endpoints:Https:Certificate:Path"] = certPath,
            ["Kestrel:Endpoints:Https:Certificate:KeyPath"] = keyPath,
        };
        await using var host = await RunningHost.StartAsync(settings: settings, urls: null);
        using var http = TrustingClient(cert, host.Address);

        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal("https", host.Address.Scheme);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }
}
