using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Roadmap.Sources.Http;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Http;

/// <summary>
/// The http kind over TLS against a real SslStream server with certificates made here: the tls block (private CA,
/// client certificate, server name, skipping verification, files replaced while running), the TLS signals, and the
/// network policy on https redirect hops.
/// </summary>
public sealed class HttpSourceTlsTests : IDisposable
{
    private static readonly string[] ShopNames = ["shop.test"];

    private readonly TestCertificates _files = new();
    private readonly X509Certificate2 _ca = TestCertificates.Authority("Roadmap Test CA");

    // shop.test and other.test stand in for DNS names of 127.0.0.1 (the policy's resolver), so certificates can name hosts.
    private readonly Roadmap.Sources.Network.NetworkPolicy _policy = Networks.Policy(
        "", new Dictionary<string, string[]> { ["shop.test"] = ["127.0.0.1"], ["other.test"] = ["127.0.0.1"] });

    public void Dispose() => _files.Dispose();

    private static string Probe(string url, string tls = "") =>
        $"""
        - id: shop
          kind: http
          timeout: 5s
          url: {url}
        """ + (tls.Length == 0 ? "" : $"\n  tls: {{ {tls} }}");

    private Task<PollResult> PollAsync(string url, string tls = "") => Networks.PollOnceAsync(Probe(url, tls), _policy);

    private TlsTestServer Server(X509Certificate2? certificate = null, Func<string, string>? answer = null, X509Certificate2? clientAuthority = null) =>
        new(certificate ?? TestCertificates.Leaf(_ca, ShopNames), answer, clientAuthority);

    [Fact]
    public async Task PollAsync_PrivateCaWithoutCaFile_FailsNotTrusted()
    {
        await using var server = Server();

        var result = await PollAsync($"https://shop.test:{server.Port}/");

        Assert.False(result.Success);
        Assert.StartsWith("TLS handshake failed: the server's certificate is not trusted (", result.Failure);
        Assert.Contains("tls.caFile", result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.NotNull(result.Value(HttpSourceKind.ConnectSeconds));
        Assert.Null(result.Value(HttpSourceKind.TlsVersion));
    }

    [Fact]
    public async Task PollAsync_PrivateCaWithCaFile_SucceedsWithEveryPhase()
    {
        await using var server = Server(answer: _ => TlsTestServer.Ok("hello"));
        var caFile = _files.WriteCertificates("ca.pem", _ca);

        var result = await PollAsync($"https://shop.test:{server.Port}/", $"caFile: {caFile}");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(HttpSourceKind.Up));
        Assert.Contains(result.Value(HttpSourceKind.TlsVersion), new double?[] { 1.2, 1.3 });
        foreach (var phase in new[] { HttpSourceKind.DnsSeconds, HttpSourceKind.ConnectSeconds, HttpSourceKind.TlsSeconds, HttpSourceKind.TtfbSeconds, HttpSourceKind.TransferSeconds })
        {
            var seconds = result.Value(phase);
            Assert.True(seconds is >= 0, $"{phase} = {seconds}");
            Assert.True(seconds <= result.Value(HttpSourceKind.LatencySeconds), $"{phase} = {seconds} is longer than the whole probe");
        }

        Assert.Equal(0, result.Value(HttpSourceKind.Redirects));
        Assert.Equal(5, result.Value(HttpSourceKind.ContentLengthBytes));
    }

    [Fact]
    public async Task PollAsync_LeafExpiringInThreeDays_CertExpirySecondsNearThreeDays()
    {
        await using var server = Server(TestCertificates.Leaf(_ca, ShopNames, DateTimeOffset.UtcNow.AddDays(3)));
        var caFile = _files.WriteCertificates("ca.pem", _ca);

        var result = await PollAsync($"https://shop.test:{server.Port}/", $"caFile: {caFile}");

        Assert.True(result.Success, result.Failure);
        var expiry = result.Value(HttpSourceKind.CertExpirySeconds);
        // The CA lives a year: the earliest of the chain is the leaf's. A wide band: only "about three days" matters.
        Assert.InRange(expiry!.Value, TimeSpan.FromDays(2.5).TotalSeconds, TimeSpan.FromDays(3.5).TotalSeconds);
    }

    [Fact]
    public async Task PollAsync_PlainHttp_HasNoTlsSignals()
    {
        await using var server = Server();

        var result = await PollAsync($"http://shop.test:{server.Port}/");

        // The TLS server does not speak plain HTTP: whatever the outcome, no TLS was negotiated.
        Assert.Null(result.Value(HttpSourceKind.TlsVersion));
        Assert.Null(result.Value(HttpSourceKind.CertExpirySeconds));
        Assert.Null(result.Value(HttpSourceKind.TlsSeconds));
    }

    [Fact]
    public async Task PollAsync_ClientCertificateEndpoint_FailsWithoutCertAndPassesWithIt()
    {
        var clientCa = TestCertificates.Authority("Roadmap Client CA");
        var clientCertificate = TestCertificates.Leaf(clientCa, ["roadmap"], client: true);
        await using var server = Server(clientAuthority: clientCa);
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var certFile = _files.WriteCertificates("client.pem", clientCertificate);
        var keyFile = _files.WriteKey("client-key.pem", clientCertificate);
        var url = $"https://shop.test:{server.Port}/";

        var without = await PollAsync(url, $"caFile: {caFile}");
        var with = await PollAsync(url, $"caFile: {caFile}, certFile: {certFile}, keyFile: {keyFile}");

        Assert.False(without.Success);
        Assert.Equal(0, without.Value(HttpSourceKind.Up));
        Assert.True(with.Success, with.Failure);
        Assert.Equal(1, server.Handshakes);
    }

    [Fact]
    public async Task PollAsync_WrongHostName_FailsAndServerNamePasses()
    {
        await using var server = Server();
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var url = $"https://other.test:{server.Port}/";

        var wrong = await PollAsync(url, $"caFile: {caFile}");
        var named = await PollAsync(url, $"caFile: {caFile}, serverName: shop.test");

        Assert.Equal("TLS handshake failed: the server's certificate is not valid for the name other.test (tls.serverName sets the name checked)", wrong.Failure);
        Assert.True(named.Success, named.Failure);
    }

    [Fact]
    public async Task PollAsync_InsecureSkipVerify_AcceptsAnUntrustedServerAndWarns()
    {
        await using var server = Server(TestCertificates.Leaf(TestCertificates.Authority("Nobody's CA"), ["elsewhere.test"]));
        var logs = new ListLoggerFactory();
        var config = TestConfigs.Source(Probe($"https://shop.test:{server.Port}/", "insecureSkipVerify: true"));
        await using var source = SourceKinds.Get("http").Create(config, Networks.Context(_policy) with { Logs = logs });

        var result = await source.PollAsync(CancellationToken.None);

        Assert.True(result.Success, result.Failure);
        Assert.NotNull(result.Value(HttpSourceKind.CertExpirySeconds));
        var warning = Assert.Single(logs.Lines, l => l.Contains("insecureSkipVerify", StringComparison.Ordinal));
        Assert.StartsWith("Warning: Source shop:", warning);
    }

    [Fact]
    public async Task PollAsync_MinVersionTls13AgainstATls12Server_Fails()
    {
        await using var server = new TlsTestServer(TestCertificates.Leaf(_ca, ShopNames), protocols: SslProtocols.Tls12);
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var url = $"https://shop.test:{server.Port}/";

        var tls12 = await PollAsync(url, $"caFile: {caFile}, minVersion: TLS12");
        var tls13 = await PollAsync(url, $"caFile: {caFile}, minVersion: TLS13");

        Assert.True(tls12.Success, tls12.Failure);
        Assert.Equal(1.2, tls12.Value(HttpSourceKind.TlsVersion));
        Assert.False(tls13.Success);
        Assert.StartsWith("TLS handshake failed", tls13.Failure);
    }

    [Fact]
    public async Task PollAsync_HttpsRedirectToADeniedAddress_FailsDeniedWithoutConnecting()
    {
        using var untouched = new UntouchedPort();
        await using var server = Server(answer: _ => TlsTestServer.Redirect($"https://denied.test:{untouched.Port}/"));
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var policy = Networks.Policy(
            "deny: [127.0.0.0/8]\nallow: [127.0.0.1/32]",
            new Dictionary<string, string[]> { ["shop.test"] = ["127.0.0.1"], ["denied.test"] = ["127.0.0.2"] });

        var result = await Networks.PollOnceAsync(Probe($"https://shop.test:{server.Port}/", $"caFile: {caFile}"), policy);

        Assert.Equal("denied: 127.0.0.2 is in the network deny list (127.0.0.0/8): denied.test resolves there", result.Failure);
        Assert.Equal(1, server.Handshakes);
        Assert.False(untouched.Touched);
    }

    [Fact]
    public async Task PollAsync_HttpsRedirectsBetweenTlsServers_CountsRedirectsAndChecksEveryHop()
    {
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        await using var end = Server(TestCertificates.Leaf(_ca, ["other.test"], DateTimeOffset.UtcNow.AddDays(10)), _ => TlsTestServer.Ok("end"));
        await using var start = Server(answer: path => TlsTestServer.Redirect(path == "/" ? "/again" : $"https://other.test:{end.Port}/"));

        var result = await PollAsync($"https://shop.test:{start.Port}/", $"caFile: {caFile}");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(2, result.Value(HttpSourceKind.Redirects));
        Assert.Equal(3, start.Handshakes + end.Handshakes);
        // The expiry is the last server's (10 days), not the first's (90).
        Assert.InRange(result.Value(HttpSourceKind.CertExpirySeconds)!.Value, TimeSpan.FromDays(9).TotalSeconds, TimeSpan.FromDays(11).TotalSeconds);
    }

    [Fact]
    public async Task PollAsync_CaFileReplacedWhileRunning_IsPickedUpByTheNextPoll()
    {
        await using var server = Server();
        var caFile = _files.WriteCertificates("ca.pem", TestCertificates.Authority("Some Other CA"));
        var config = TestConfigs.Source(Probe($"https://shop.test:{server.Port}/", $"caFile: {caFile}"));
        await using var source = SourceKinds.Get("http").Create(config, Networks.Context(_policy));

        var before = await source.PollAsync(CancellationToken.None);
        // Replaced as secrets are: a new file renamed into place.
        var next = _files.WriteCertificates("ca.pem.new", _ca);
        File.Move(next, caFile, overwrite: true);
        var after = await source.PollAsync(CancellationToken.None);

        Assert.StartsWith("TLS handshake failed: the server's certificate is not trusted by tls.caFile", before.Failure);
        Assert.True(after.Success, after.Failure);
    }

    [Fact]
    public async Task PollAsync_CaFileRemovedWhileRunning_FailsNamingTheFile()
    {
        await using var server = Server();
        var caFile = _files.WriteCertificates("ca.pem", _ca);
        var config = TestConfigs.Source(Probe($"https://shop.test:{server.Port}/", $"caFile: {caFile}"));
        await using var source = SourceKinds.Get("http").Create(config, Networks.Context(_policy));

        var before = await source.PollAsync(CancellationToken.None);
        File.Delete(caFile);
        var after = await source.PollAsync(CancellationToken.None);

        Assert.True(before.Success, before.Failure);
        Assert.Equal($"tls: cannot read caFile \"{caFile}\": no such file", after.Failure);
        Assert.Equal(1, server.Handshakes);
    }
}
