using Dapper;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Storage.Tests.Sqlite;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Hosting;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests;

/// <summary>The real host in this process: real Kestrel, real Quartz, a real SQLite file, WireMock as the monitored service.</summary>
[Collection(ScheduleTimingGroup.Name)]
public sealed class InProcessHostTests : IDisposable
{
    private readonly WireMockServer _service = WireMockServer.Start();
    private readonly string _dir = Support.TempFolder();

    public InProcessHostTests()
    {
        _service.Given(Request.Create().WithPath("/healthy").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        _service.Given(Request.Create().WithPath("/broken").UsingGet()).RespondWith(Response.Create().WithStatusCode(500).WithBody("boom"));

        // The monitored service runs in this process: its first answer pays its JIT, which a real, running
        // service would not. Warm it so the first probe measures what production would.
        using var warm = new HttpClient();
        warm.GetAsync(new Uri(_service.Url + "/healthy")).GetAwaiter().GetResult().Dispose();
    }

    public void Dispose()
    {
        _service.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>
    /// /metrics in both formats, asked for as Prometheus asks (OpenMetrics preferred, text as the fallback) and as curl
    /// does (nothing said): each with its content type, one declaration per family (roadmap_signal_value is written
    /// outside prometheus-net's registry), OpenMetrics' floats and its closing <c># EOF</c>.
    /// </summary>
    private static async Task AssertExpositionFormatsAsync(HttpClient http)
    {
        using var open = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        open.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
        using var openResponse = await http.SendAsync(open);
        var openMetrics = await openResponse.Content.ReadAsStringAsync();
        var text = await http.GetAsync("/metrics");

        Assert.Equal("application/openmetrics-text", openResponse.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("\n# EOF\n", openMetrics, StringComparison.Ordinal);
        Assert.Contains("\nroadmap_signal_value{source=\"broken\",signal=\"status_code\"} 500.0\n", openMetrics, StringComparison.Ordinal);
        Assert.Equal("text/plain", text.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0.0.4", text.Content.Headers.ContentType?.Parameters.Single(p => p.Name == "version").Value);
        var plain = await text.Content.ReadAsStringAsync();
        Assert.DoesNotContain("# EOF", plain, StringComparison.Ordinal);
        Assert.Contains("\nroadmap_signal_value{source=\"broken\",signal=\"status_code\"} 500\n", plain, StringComparison.Ordinal);
        foreach (var page in new[] { openMetrics, plain })
        {
            var types = page.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
            Assert.Equal(types.Count, types.Distinct().Count());
            Assert.Contains("roadmap_signal_value", types);
            Assert.Contains("roadmap_source_up", types);
        }
    }

    private string Config() => $$"""
        roadmap:
          name: End-to-end shop
          goals: [{ id: reliability, title: Stay up }]
        settings:
          evaluateEvery: 1s
        sources:
          # Asserted never to fail: a timeout far above any answer of the warmed mock (a loaded CI run once stalled
          # a 500 ms poll of it). Its first poll comes at the start, so its KPIs are judged as soon as the others.
          - id: healthy
            kind: http
            every: 5s
            timeout: 4s
            url: {{_service.Url}}/healthy
            expect: { bodyContains: ok }
          - id: broken
            kind: http
            every: 1s
            timeout: 500ms
            url: {{_service.Url}}/broken
        initiatives:
          - id: migration
            name: Migrate
            goal: reliability
            timeline: 2026-Q4
            status: in-progress
            kpis:
              - id: uptime
                source: healthy
                signal: up
                aggregate: avg
                window: 1h
                target: ">= 99.9%"
              - id: broken-uptime
                source: broken
                signal: up
                aggregate: avg
                window: 1h
                target: ">= 99.9%"
              - id: latency-p95
                source: healthy
                signal: latency_seconds
                aggregate: p95
                window: 1h
                target: "<= 5"
        """;

    [Fact]
    public async Task Host_PollsEvaluatesAndExports_AndStoresEveryCountedPoll()
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(Config(), "e2e.yaml");
        Assert.Empty(loaded.Errors);
        var dbPath = Path.Combine(_dir, "data", "roadmap.db");
        var database = RoadmapDatabase.Open(dbPath);
        var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0", DatabasePath = dbPath }, loaded.Config!, database);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var metrics = "";
        var ready = await Support.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync("/metrics");
                // broken-uptime is a budget KPI: missed once the failures seen exceed the 3.6 s its hour allows at
                // 99.9%, about 4 one-second polls after the first.
                return Support.Value(metrics, "roadmap_source_polls_total", ("source", "broken"), ("outcome", "failure")) >= 3
                    && Support.Value(metrics, "roadmap_kpi_value", ("kpi", "uptime")) is not null
                    && Support.Value(metrics, "roadmap_kpi_value", ("kpi", "broken-uptime")) is not null
                    && Support.Value(metrics, "roadmap_kpi_error_budget_remaining_ratio", ("kpi", "broken-uptime")) <= 0;
            },
            TimeSpan.FromSeconds(30));
        Assert.True(ready, "no failed polls, KPI values or spent budget within 30 s:\n" + metrics);

        Assert.Equal("ready\n", await http.GetStringAsync("/readyz"));
        Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
        Assert.True(1 == Support.Value(metrics, "roadmap_kpi_value", ("initiative", "migration"), ("kpi", "uptime")), "healthy uptime is not 1:\n" + string.Join("\n", metrics.Split('\n').Where(l => l.Contains("healthy", StringComparison.Ordinal))));
        Assert.Equal(0, Support.Value(metrics, "roadmap_kpi_value", ("initiative", "migration"), ("kpi", "broken-uptime")));
        Assert.Equal(0.999, Support.Value(metrics, "roadmap_kpi_target", ("kpi", "uptime")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_met", ("kpi", "uptime")));
        Assert.Equal(0, Support.Value(metrics, "roadmap_kpi_met", ("kpi", "broken-uptime")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_status", ("kpi", "uptime"), ("status", "met")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_status", ("kpi", "broken-uptime"), ("status", "missed")));
        Assert.Equal(0, Support.Value(metrics, "roadmap_kpi_status", ("kpi", "broken-uptime"), ("status", "met")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_met", ("kpi", "latency-p95")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_source_up", ("source", "healthy"), ("kind", "http")));
        Assert.Equal(0, Support.Value(metrics, "roadmap_source_up", ("source", "broken"), ("kind", "http")));
        Assert.Equal(0, Support.Value(metrics, "roadmap_source_polls_total", ("source", "healthy"), ("outcome", "failure")));
        Assert.Equal(500, Support.Value(metrics, "roadmap_signal_value", ("source", "broken"), ("signal", "status_code")));
        Assert.True(Support.Value(metrics, "roadmap_source_last_success_timestamp_seconds", ("source", "healthy")) > 1.7e9);
        Assert.Null(Support.Value(metrics, "roadmap_source_last_success_timestamp_seconds", ("source", "broken")));
        Assert.True(Support.Value(metrics, "roadmap_source_poll_duration_seconds_count", ("source", "healthy")) >= 1);
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_info", ("kpi", "uptime"), ("aggregate", "avg"), ("window", "1h"), ("comparison", ">=")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_initiative_info", ("initiative", "migration"), ("goal", "reliability"), ("declared_status", "in-progress")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_build_info"));
        Assert.NotNull(Support.Value(metrics, "process_cpu_seconds_total"));
        await AssertExpositionFormatsAsync(http);

        await app.StopAsync();
        var counted = app.Services.GetRequiredService<RoadmapMetrics>().PollCount;
        var writer = app.Services.GetRequiredService<IPollWriter>();
        await app.DisposeAsync();

        Assert.True(writer.SamplesWritten > 0);
        using var db = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly");
        db.Open();
        Assert.Equal(counted, db.ExecuteScalar<long>("SELECT count(*) FROM polls;"));
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = 'healthy' AND outcome = 'failure';"));
        var reasons = db.Query<string>("SELECT DISTINCT reason FROM polls WHERE source = 'broken';").ToList();
        Assert.Equal(["HTTP 500 Internal Server Error, expected 2xx"], reasons);
        var brokenUp = db.ExecuteScalar<long>("SELECT id FROM series WHERE source = 'broken' AND signal = 'up';");
        var hot = HotSamplesTable.Read(db);
        var ups = hot.Where(h => h.Series == brokenUp).Select(h => h.Value).ToList();
        Assert.NotEmpty(ups);
        Assert.All(ups, v => Assert.Equal(0, v));
        Assert.Equal(writer.SamplesWritten, hot.Count);
    }
}
