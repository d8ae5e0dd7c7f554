using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>
/// The monitoring stack the dashboards and rules are written for, for real: the Roadmap executable on a roadmap whose
/// sources give every panel data (WireMock answering 200 and 500, a refused port), and the Debian Prometheus
/// scraping it every second as job "roadmap" with grafana/prometheus/rules/*.yml loaded and evaluated every second.
/// </summary>
/// <remarks>
/// What makes each panel and alert have data: healthy (200) gives uptime and latency KPIs that are met, an error
/// budget, and, with the seeded evaluation history below, a forecast; broken (500) gives a missed objective, a
/// source down and failed polls; refused (nothing listens) gives a source with no samples and a KPI without data;
/// flaky answers 200 until Prometheus has seen its KPI's error budget untouched, then 500, so its burn rates climb as
/// in a real outage (its ">= 99.99%" target pages once about 5 s of the last hour failed: 14.4 × 3,600 s × 0.0001;
/// its 10s window forgets a slow first probe of the just-started worker), and flaky-goal (the min of flaky's up by a
/// deadline, not a budget KPI) is at risk with too little history to forecast; hardening is in progress while
/// migration is not done (blocked), and starts in the future (planned).
/// </remarks>
public sealed class LiveMonitoring : IAsyncLifetime
{
    /// <summary>The initiative that has every kind of KPI: the value the tests give the dashboards' $initiative.</summary>
    public const string Initiative = "migration";

    private readonly WireMockServer _service = WireMockServer.Start();
    private readonly string _dir = Support.TempFolder();
    private WorkerProcess? _worker;
    private PrometheusServer? _prometheus;

    internal PrometheusServer Prometheus => _prometheus ?? throw new InvalidOperationException("not started");

    /// <summary>The worker's output so far, for failure messages.</summary>
    public string WorkerOutput => _worker is null ? "" : _worker.Stdout + _worker.Stderr;

    public async Task InitializeAsync()
    {
        _service.Given(Request.Create().WithPath("/healthy").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        _service.Given(Request.Create().WithPath("/broken").UsingGet()).RespondWith(Response.Create().WithStatusCode(500).WithBody("boom"));
        _service.Given(Request.Create().WithPath("/flaky").UsingGet()).AtPriority(10).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));

        // A certificate 20 days from expiry, for the sources dashboard's certificate panel: a json stand-in for a
        // source that measures a server's certificate (cert_expiry_seconds), far enough out that no alert fires.
        _service.Given(Request.Create().WithPath("/cert").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"secondsLeft": 1728000}"""));

        // The monitored service runs in this process: its first answers pay its JIT, which a running service would
        // not. Warm it so the first probes measure what production would.
        using (var warm = new HttpClient())
        {
            foreach (var path in new[] { "/healthy", "/broken", "/flaky" })
            {
                (await warm.GetAsync(new Uri(_service.Url + path))).Dispose();
            }
        }

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, Config(today));
        var database = Path.Combine(_dir, "data", "roadmap.db");
        SeedForecastHistory(database, today);

        // The worker starts first, and Prometheus only once flaky-uptime's error budget is untouched, so that the first
        // value Prometheus holds is 1 even when a probe of a just-started process was slow: the burn-rate rule sees
        // the burn rates climb from there when flaky starts failing.
        var port = Support.FreePort();
        _worker = WorkerProcess.Start(_dir, "run", "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}");
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
        {
            var metrics = "";
            var untouched = await Support.EventuallyAsync(
                async () =>
                {
                    metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
                    return Support.Value(metrics, "roadmap_kpi_error_budget_remaining_ratio", ("kpi", "flaky-uptime")) == 1;
                },
                TimeSpan.FromSeconds(30));
            if (!untouched)
            {
                throw new InvalidOperationException("flaky-uptime's error budget was not untouched within 30 s:\n" + metrics + "\nworker:\n" + WorkerOutput);
            }
        }

        _prometheus = await PrometheusServer.StartAsync(PrometheusConfig(port), TimeSpan.FromSeconds(30));
        var scraped = await Support.EventuallyAsync(
            async () => Results(await Prometheus.QueryAsync("max_over_time(roadmap_kpi_error_budget_remaining_ratio{kpi=\"flaky-uptime\"}[1m]) == 1")).GetArrayLength() > 0,
            TimeSpan.FromSeconds(30));
        if (!scraped)
        {
            throw new InvalidOperationException("Prometheus did not scrape flaky-uptime's untouched error budget within 30 s.\nworker:\n" + WorkerOutput + "\nprometheus:\n" + Prometheus.Log);
        }

        _service.Given(Request.Create().WithPath("/flaky").UsingGet()).AtPriority(1).RespondWith(Response.Create().WithStatusCode(500).WithBody("boom"));
    }

    public async Task DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        _service.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>data.result of a Prometheus API answer.</summary>
    internal static JsonElement Results(JsonElement answer) => answer.GetProperty("data").GetProperty("result");

    private string Config(DateOnly today)
    {
        string Day(int days) => today.AddDays(days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return $$"""
            roadmap:
              name: Grafana end-to-end shop
              goals: [{ id: reliability, title: Stay up }]
            settings:
              evaluateEvery: 1s
            sources:
              - id: healthy
                kind: http
                every: 1s
                timeout: 900ms
                url: {{_service.Url}}/healthy
                expect: { bodyContains: ok }
              - id: broken
                kind: http
                every: 1s
                timeout: 900ms
                url: {{_service.Url}}/broken
              - id: flaky
                kind: http
                every: 1s
                timeout: 900ms
                url: {{_service.Url}}/flaky
              - id: refused
                kind: http
                every: 1s
                timeout: 900ms
                url: http://127.0.0.1:1/
              - id: shop-cert
                kind: json
                every: 1s
                timeout: 900ms
                url: {{_service.Url}}/cert
                signals: { cert_expiry_seconds: $.secondsLeft }
            initiatives:
              - id: migration
                name: Migrate to a new cloud provider
                goal: reliability
                timeline: { start: {{Day(-30)}}, due: {{Day(90)}} }
                status: in-progress
                kpis:
                  - id: uptime
                    name: System uptime
                    source: healthy
                    signal: up
                    window: 1h
                    target: ">= 99.9%"
                    unit: ratio
                  - id: flaky-uptime
                    name: Flaky uptime
                    source: flaky
                    signal: up
                    window: 10s
                    target: ">= 99.99%"
                    unit: ratio
                  - id: flaky-goal
                    name: Flaky never down by the due date
                    source: flaky
                    signal: up
                    aggregate: min
                    window: 1h
                    target: ">= 99%"
                    deadline: due
                  - id: latency-p95
                    name: Response time (p95)
                    source: healthy
                    signal: latency_seconds
                    aggregate: p95
                    window: 1h
                    target: "<= 5"
                    unit: seconds
                    deadline: due
                  - id: latency-vs-baseline
                    name: Response time against last quarter
                    source: healthy
                    signal: latency_seconds
                    window: 1h
                    target: "<= baseline - 20%"
                    baseline: 2
                    unit: seconds
                    deadline: due
              - id: hardening
                name: Harden the platform
                goal: reliability
                timeline: { start: {{Day(100)}}, due: {{Day(190)}} }
                status: in-progress
                dependsOn: [migration]
                kpis:
                  - id: broken-uptime
                    source: broken
                    signal: up
                    window: 1h
                    target: ">= 99.9%"
                  - id: refused-latency
                    source: refused
                    signal: latency_seconds
                    window: 1h
                    target: "<= 1"
            """;
    }

    /// <summary>
    /// A forecast needs at least 5 stored evaluations spanning an hour: store six, 15 minutes apart, ending 45 minutes
    /// ago, as a worker that ran for that long would have, so the forecast panels have data in a short test.
    /// </summary>
    private static void SeedForecastHistory(string databasePath, DateOnly today)
    {
        var database = RoadmapDatabase.Open(databasePath);
        var now = DateTimeOffset.UtcNow;
        var due = new DateTimeOffset(today.AddDays(90).ToDateTime(new TimeOnly(23, 59, 59)), TimeSpan.Zero);
        var history = Enumerable.Range(0, 6)
            .Select(i => new KpiEvaluation(
                Initiative, "latency-p95", now - TimeSpan.FromMinutes(120 - (15 * i)), 0.02 - (0.001 * i), 5, true, KpiStatus.Met, due, 100, "seeded"))
            .ToList();
        database.Evaluations.Append(history);
        SqliteConnection.ClearAllPools();
    }

    /// <summary>Prometheus scraping the worker on <paramref name="workerPort"/> every second as job "roadmap", with the rules.</summary>
    internal static string PrometheusConfig(int workerPort)
    {
        var rules = string.Join("\n", GrafanaFiles.RuleFiles().Select(f => $"  - '{f}'"));
        return $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
            {rules}
            scrape_configs:
              - job_name: roadmap
                static_configs:
                  - targets: ['127.0.0.1:{workerPort}']
            """;
    }
}
