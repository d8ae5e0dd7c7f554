using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>
/// Error budgets and burn-rate alerts through the real worker and a real Prometheus with grafana/prometheus's rules:
/// a fresh install's blip must leave every KPI met and alert nothing; a 10-minute outage on a 99.9%/1h KPI must page.
/// The history before the worker starts is stored in its database first, as a worker that ran then would have.
/// </summary>
public sealed class BudgetAlertsEndToEndTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly WireMockServer _service = WireMockServer.Start();
    private readonly string _dir = Support.TempFolder();

    public BudgetAlertsEndToEndTests()
    {
        _service.Given(Request.Create().WithPath("/healthy").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        _service.Given(Request.Create().WithPath("/down").UsingGet()).RespondWith(Response.Create().WithStatusCode(503).WithBody("down"));
    }

    public void Dispose()
    {
        _service.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task FreshInstallWithTwoFailedProbes_EveryKpiMetAndNoBudgetAlert()
    {
        // 15 minutes of 5-s probes, two failed at minute 3: 10 s of the 43.2 min a 30-day 99.9% budget allows.
        var now = DateTimeOffset.UtcNow;
        await SeedAsync("web", now - TimeSpan.FromMinutes(15), now, at => at >= now - TimeSpan.FromMinutes(12) && at < now - TimeSpan.FromMinutes(12) + TimeSpan.FromSeconds(10));
        await using var stack = await StartAsync("web", "/healthy", "30d");

        // Prometheus has the KPI's budget and burn rates from the worker.
        var scraped = await Support.EventuallyAsync(
            async () => Count(await stack.Prometheus.QueryAsync("roadmap_kpi_burn_rate{kpi=\"uptime\",window=\"1h\"}")) > 0,
            Patience);
        Assert.True(scraped, "no burn rate scraped:\n" + stack.Log);

        // Watch for a while: every KPI stays met (status from the real worker), and no KPI or budget alert is active,
        // not even pending. burn(1h) = 10 s / 3.6 s = 2.8, far from the 14.4 that pages.
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTimeOffset.UtcNow < deadline)
        {
            Assert.Equal(0, Count(await stack.Prometheus.QueryAsync("roadmap_kpi_status{status!=\"met\"} == 1")));
            Assert.Equal(0, Count(await stack.Prometheus.QueryAsync("ALERTS{alertname=~\"RoadmapKpi.*|RoadmapErrorBudget.*\"}")));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        var budget = Value(await stack.Prometheus.QueryAsync("roadmap_kpi_error_budget_remaining_ratio{kpi=\"uptime\"}"));
        var burn = Value(await stack.Prometheus.QueryAsync("roadmap_kpi_burn_rate{kpi=\"uptime\",window=\"1h\"}"));
        Assert.InRange(budget, 0.99, 1.0);
        // 2.8 with the two seeded failures; a slow first probe of the just-started worker adds 1.4 per 5 s: the bound
        // is half the 14.4 that pages.
        Assert.InRange(burn, 1.0, 7.2);
    }

    [Fact]
    public async Task TenMinuteOutageOnAnHourlyKpi_PagesWithTheFastBurnAlert()
    {
        // Two hours of probes, the last 10 minutes failed, and the service still down: burn(1h) = 600 s / 3.6 s = 166.
        var now = DateTimeOffset.UtcNow;
        await SeedAsync("web", now - TimeSpan.FromHours(2), now, at => at >= now - TimeSpan.FromMinutes(10));
        await using var stack = await StartAsync("web", "/down", "1h");

        var paging = await Support.EventuallyAsync(
            async () => Count(await stack.Prometheus.QueryAsync(
                "ALERTS{alertname=\"RoadmapErrorBudgetBurningFast\",severity=\"critical\",kpi=\"uptime\",window=\"1h\"}")) > 0,
            Patience);

        Assert.True(paging, "RoadmapErrorBudgetBurningFast is not active (its `for: 2m` then fires it):\n" + stack.Log);
        Assert.True(Value(await stack.Prometheus.QueryAsync("roadmap_kpi_burn_rate{kpi=\"uptime\",window=\"1h\"}")) > 100);
        Assert.Equal(1, Count(await stack.Prometheus.QueryAsync("roadmap_kpi_status{kpi=\"uptime\",status=\"missed\"} == 1")));
    }

    /// <summary>Stores one http probe of <paramref name="source"/> every 5 s from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private async Task SeedAsync(string source, DateTimeOffset from, DateTimeOffset to, Func<DateTimeOffset, bool> failed)
    {
        var path = Path.Combine(_dir, "data", "roadmap.db");
        var database = RoadmapDatabase.Open(path);
        var writer = new BatchedWriter(database, new StorageOptions { Path = path }, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        for (var at = from; at <= to; at += TimeSpan.FromSeconds(5))
        {
            var down = failed(at);
            SignalSample[] samples = down ? [new("up", 0)] : [new("up", 1), new("latency_seconds", 0.01)];
            Assert.True(writer.TryEnqueue(new PollRecord(source, at.ToUnixTimeMilliseconds(), 0.01, !down, down ? "HTTP 503" : null, samples)));
        }

        await writer.FlushAsync();
        await writer.DisposeAsync();
        SqliteConnection.ClearAllPools();
    }

    private async Task<Stack> StartAsync(string source, string path, string window)
    {
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, $$"""
            roadmap:
              name: Budget end-to-end
            settings:
              evaluateEvery: 1s
            sources:
              - id: {{source}}
                kind: http
                every: 5s
                timeout: 2s
                url: {{_service.Url}}{{path}}
            initiatives:
              - id: launch
                name: Launch
                kpis:
                  - { id: uptime, source: {{source}}, signal: up, window: {{window}}, target: ">= 99.9%", unit: ratio }
            """);
        var port = Support.FreePort();
        var worker = WorkerProcess.Start(_dir, "run", "--config", config, "--database", Path.Combine(_dir, "data", "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");
        var prometheus = await PrometheusServer.StartAsync(LiveMonitoring.PrometheusConfig(port), TimeSpan.FromSeconds(30));
        return new Stack(worker, prometheus);
    }

    private static int Count(System.Text.Json.JsonElement answer) => LiveMonitoring.Results(answer).GetArrayLength();

    private static double Value(System.Text.Json.JsonElement answer)
    {
        var results = LiveMonitoring.Results(answer);
        Assert.Equal(1, results.GetArrayLength());
        return double.Parse(results[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    private sealed class Stack(WorkerProcess worker, PrometheusServer prometheus) : IAsyncDisposable
    {
        public PrometheusServer Prometheus => prometheus;

        public string Log => "worker:\n" + worker.Stdout + worker.Stderr + "\nprometheus:\n" + prometheus.Log;

        public async ValueTask DisposeAsync()
        {
            await prometheus.DisposeAsync();
            await worker.DisposeAsync();
        }
    }
}
