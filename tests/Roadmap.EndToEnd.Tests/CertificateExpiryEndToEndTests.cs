using System.Globalization;
using Microsoft.Data.Sqlite;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.EndToEnd.Tests;

/// <summary>
/// Certificate expiry as a KPI through the real executable: two https servers behind a private CA, one certificate
/// with 20 days left and one with 5, polled by http sources with a <c>tls.caFile</c>, and the KPI
/// <c>{ signal: cert_expiry_seconds, aggregate: last, target: "&gt;= 14d" }</c> judged met for the first and missed for
/// the second on <c>/metrics</c>, with the signal itself exported per source.
/// </summary>
public sealed class CertificateExpiryEndToEndTests : IAsyncLifetime
{
    private readonly string _dir = Support.TempFolder();
    private readonly TestCertificates _files = new();
    private TlsTestServer? _fresh;
    private TlsTestServer? _expiring;
    private string _caFile = "";
    private DateTimeOffset _freshNotAfter;
    private DateTimeOffset _expiringNotAfter;

    public Task InitializeAsync()
    {
        using var authority = TestCertificates.Authority("Roadmap test CA");
        _caFile = _files.WriteCertificates("ca.pem", authority);
        var fresh = TestCertificates.Leaf(authority, ["127.0.0.1"], DateTimeOffset.UtcNow.AddDays(20));
        var expiring = TestCertificates.Leaf(authority, ["127.0.0.1"], DateTimeOffset.UtcNow.AddDays(5));
        _freshNotAfter = fresh.NotAfter.ToUniversalTime();
        _expiringNotAfter = expiring.NotAfter.ToUniversalTime();
        _fresh = new TlsTestServer(fresh);
        _expiring = new TlsTestServer(expiring);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _fresh!.DisposeAsync();
        await _expiring!.DisposeAsync();
        _files.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string Config => $$"""
        roadmap: { name: Certificates }
        settings: { evaluateEvery: 1s }
        sources:
          - id: shop
            kind: http
            every: 1s
            url: https://127.0.0.1:{{_fresh!.Port}}/
            tls: { caFile: {{_caFile}} }
          - id: legacy
            kind: http
            every: 1s
            url: https://127.0.0.1:{{_expiring!.Port}}/
            tls: { caFile: {{_caFile}} }
        initiatives:
          - id: security
            name: Security
            kpis:
              - { id: shop-cert, source: shop, signal: cert_expiry_seconds, aggregate: last, window: 1h, target: ">= 14d" }
              - { id: legacy-cert, source: legacy, signal: cert_expiry_seconds, aggregate: last, window: 1h, target: ">= 14d" }
        """;

    [Fact]
    public async Task Run_CertificateExpiryKpiWithDurationTarget_MetWith20DaysLeftMissedWith5()
    {
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, Config);
        var validate = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "validate", "--config", config);
        Assert.True(validate.ExitCode == 0, validate.Stdout + validate.Stderr);

        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await using var run = WorkerProcess.Start(_dir, "run", "--config", config, "--database", Path.Combine(_dir, "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");
        var metrics = "";
        var judged = await Support.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
                return new[] { "shop-cert", "legacy-cert" }.All(k => Support.Value(metrics, "roadmap_kpi_value", ("kpi", k)) is not null);
            },
            TimeSpan.FromSeconds(60));
        Assert.True(judged, $"no KPI values within 60 s; stderr:\n{run.Stderr}\nmetrics:\n{metrics}");

        // The target ">= 14d" is 1,209,600 s: the KPI's value is the seconds left, read off the certificate the server sent.
        Assert.Equal(14 * 86_400, Support.Value(metrics, "roadmap_kpi_target", ("kpi", "shop-cert")));
        var now = DateTimeOffset.UtcNow;
        var shopLeft = Support.Value(metrics, "roadmap_kpi_value", ("kpi", "shop-cert"))!.Value;
        var legacyLeft = Support.Value(metrics, "roadmap_kpi_value", ("kpi", "legacy-cert"))!.Value;
        Assert.InRange(shopLeft, (_freshNotAfter - now).TotalSeconds - 600, (_freshNotAfter - now).TotalSeconds + 60);
        Assert.InRange(legacyLeft, (_expiringNotAfter - now).TotalSeconds - 600, (_expiringNotAfter - now).TotalSeconds + 60);
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_met", ("kpi", "shop-cert")));
        Assert.Equal(0, Support.Value(metrics, "roadmap_kpi_met", ("kpi", "legacy-cert")));
        var exported = Support.Value(metrics, "roadmap_signal_value", ("source", "legacy"), ("signal", "cert_expiry_seconds"));
        Assert.True(exported is > 4 * 86_400 and < 6 * 86_400, exported?.ToString(CultureInfo.InvariantCulture));
        run.Terminate();
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }
}
