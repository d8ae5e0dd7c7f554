using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Roadmap.EndToEnd.Tests;

/// <summary>The real executable with settings.auth, listening beyond loopback, and serving TLS from Kestrel's settings.</summary>
public sealed class SecurityTests : IDisposable
{
    private const string Token = "e2e-token-4b7d9f";

    // `htpasswd -nbBC 10 ops pass`
    private const string Hash = "$2y$10$AIy5R3cUsP/lJ2dzCWEvLOrrvCmyzVRGQyZKNwSGLfgpjQGDfXMxG";

    private const string Warning = "beyond loopback with no settings.auth";

    private readonly string _dir = Support.TempFolder();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string WriteConfig(bool auth)
    {
        var path = Path.Combine(_dir, "roadmap.yaml");
        var settings = auth
            ? $"settings:\n  auth:\n    bearerToken: \"${{ROADMAP_TOKEN}}\"\n    basicAuthUsers:\n      ops: \"{Hash}\"\n"
            : "";
        File.WriteAllText(path, "roadmap: { name: Security }\n" + settings);
        return path;
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, AuthenticationHeaderValue? authorization = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = authorization;
        return await http.SendAsync(request);
    }

    private static AuthenticationHeaderValue Basic(string userColonPassword) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userColonPassword)));

    [Fact]
    public async Task Metrics_WithAuthOnAllInterfaces_AsksForCredentialsAndDoesNotWarn()
    {
        var port = Support.FreePort();
        var environment = new Dictionary<string, string?> { ["ROADMAP_TOKEN"] = Token };
        await using var p = WorkerProcess.Start(_dir, environment, "run", "--config", WriteConfig(auth: true), "--database", Path.Combine(_dir, "r.db"), "--urls", $"http://0.0.0.0:{port}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        Assert.True(await Support.EventuallyAsync(async () => (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(30)), p.Stdout + p.Stderr);

        using var none = await GetAsync(http, "/metrics");
        using var bearer = await GetAsync(http, "/metrics", new AuthenticationHeaderValue("Bearer", Token));
        using var right = await GetAsync(http, "/metrics", Basic("ops:pass"));
        using var wrong = await GetAsync(http, "/metrics", Basic("ops:wrong"));
        using var board = await GetAsync(http, "/");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.StartsWith("Basic realm=\"Roadmap\"", none.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Empty(await none.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Contains("roadmap_build_info", await bearer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, board.StatusCode);
        Assert.DoesNotContain(Warning, p.Stdout + p.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, p.Stdout + p.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OnAllInterfacesWithoutAuth_WarnsOnceNamingTheAddress()
    {
        var port = Support.FreePort();
        await using var p = WorkerProcess.Start(_dir, "run", "--config", WriteConfig(auth: false), "--database", Path.Combine(_dir, "r.db"), "--urls", $"http://0.0.0.0:{port}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        Assert.True(await Support.EventuallyAsync(async () => (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(30)), p.Stdout + p.Stderr);
        Assert.True(await Support.EventuallyAsync(() => Task.FromResult(p.Stdout.Contains(Warning, StringComparison.Ordinal)), TimeSpan.FromSeconds(5)), p.Stdout);

        var lines = p.Stdout.Split('\n').Where(l => l.Contains(Warning, StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains($"http://0.0.0.0:{port}", line, StringComparison.Ordinal);
        using var metrics = await GetAsync(http, "/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task Healthz_OverHttpsFromKestrelEnvironmentVariables_Answers()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=roadmap-e2e", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_dir, "tls.crt");
        var keyPath = Path.Combine(_dir, "tls.key");
        await File.WriteAllTextAsync(certPath, cert.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        var port = Support.FreePort();
        var environment = new Dictionary<string, string?>
        {
            ["Kestrel__Endpoints__Https__Url"] = $"https://127.0.0.1:{port}",
            ["Kestrel__Endpoints__Https__Certificate__Path"] = certPath,
            ["Kestrel__Endpoints__Https__Certificate__KeyPath"] = keyPath,
        };
        await using var p = WorkerProcess.Start(_dir, environment, "run", "--config", WriteConfig(auth: false), "--database", Path.Combine(_dir, "r.db"));
        using var handler = new HttpClientHandler
        {
            // Trust exactly the certificate made above, nothing else.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.RawData.AsSpan().SequenceEqual(cert.RawData),
        };
        using var https = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };

        Assert.True(await Support.EventuallyAsync(async () => (await https.GetAsync(new Uri("/healthz", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(30)), p.Stdout + p.Stderr);
        // The endpoint replaced the default URL rather than adding to it, and Kestrel had nothing to complain about.
        Assert.DoesNotContain("Overriding address", p.Stdout + p.Stderr, StringComparison.Ordinal);
    }
}
