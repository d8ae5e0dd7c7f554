using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Tests.Evaluation;

/// <summary>
/// The evaluation service over a real SQLite file and a fake clock: samples go in through the batched writer, the
/// service judges them, and the judgement is read back from the evaluation store and the exported metrics text.
/// </summary>
public sealed class EvaluationServiceTests : IAsyncLifetime
{
    /// <summary>Late November 2026: the October baseline period has ended and the 2027-03-31 deadline is months ahead.</summary>
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The end of the deadline day 2027-03-31 in UTC.</summary>
    private static readonly DateTimeOffset DeadlineEnd = new(2027, 4, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly DateOnly October1 = new(2026, 10, 1);
    private static readonly DateOnly October31 = new(2026, 10, 31);

    /// <summary>What the page-load KPI's baseline measured, the key it is stored under: aggregate(source:signal).</summary>
    private const string AvgDefinition = "avg(rum:latency_seconds)";

    private const string PageLoad = "{initiative=\"frontend\",kpi=\"page-load-p95\"}";
    private const string Uptime = "{initiative=\"cloud-migration\",kpi=\"uptime\"}";

    private const string UptimeYaml = """
        roadmap: { name: R }
        sources:
          - { id: storefront, kind: http, url: "http://127.0.0.1:1/healthz" }
        initiatives:
          - id: cloud-migration
            name: Migrate to a new cloud provider
            status: in-progress
            kpis:
              - { id: uptime, source: storefront, signal: up, aggregate: avg, window: 1h, target: ">= 99.9%" }
        """;

    /// <summary>A relative target against an October baseline, due at the end of Q1 2027, in the given zone.</summary>
    private static string PageLoadYaml(string zone = "UTC", string aggregate = "avg") => $$"""
        roadmap: { name: R }
        settings: { timezone: {{zone}} }
        sources:
          - { id: rum, kind: http, url: "http://127.0.0.1:1/rum" }
        initiatives:
          - id: frontend
            name: Enhance frontend performance
            status: in-progress
            kpis:
              - id: page-load-p95
                source: rum
                signal: latency_seconds
                aggregate: {{aggregate}}
                window: 10m
                target: "<= baseline - 20%"
                baseline: { from: 2026-10-01, to: 2026-10-31 }
                deadline: 2027-03-31
        """;

    /// <summary>The acceptance roadmap: an uptime objective, a page-load goal against a baseline, and dependencies.</summary>
    private const string AcceptanceYaml = """
        roadmap:
          name: E-commerce platform
          goals:
            - { id: scalability, title: Increase platform scalability by 30% }
            - { id: performance, title: Improve website performance }
        settings:
          timezone: UTC
        sources:
          - { id: storefront, kind: http, url: "http://127.0.0.1:1/healthz" }
          - { id: rum, kind: http, url: "http://127.0.0.1:1/rum" }
        initiatives:
          - id: platform
            name: Platform foundations
            timeline: 2026-Q3
            status: done
          - id: security
            name: Implement enhanced security
            timeline: 2026-Q4
            status: in-progress
          - id: cloud-migration
            name: Migrate to a new cloud provider
            goal: scalability
            timeline: 2026-Q4
            status: in-progress
            dependsOn: [platform, security]
            kpis:
              - { id: uptime, name: System uptime, source: storefront, signal: up, aggregate: avg, window: 30d, target: ">= 99.9%", unit: ratio }
          - id: frontend
            name: Enhance frontend performance
            goal: performance
            timeline: { start: 2026-11-01, due: 2027-03-31 }
            status: in-progress
            dependsOn: [platform]
            kpis:
              - id: page-load-p95
                name: Page load p95
                source: rum
                signal: latency_seconds
                aggregate: avg
                window: 10m
                target: "<= baseline - 20%"
                baseline: { from: 2026-10-01, to: 2026-10-31 }
                deadline: due
                unit: seconds
        """;

    private readonly TempFolder _folder = new();
    private RoadmapDatabase _db = null!;
    private BatchedWriter _writer = null!;

    public Task InitializeAsync()
    {
        _db = RoadmapDatabase.Open(_folder.File("roadmap.db"));
        _writer = new BatchedWriter(_db, new StorageOptions { Path = _db.Path }, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        _writer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        _folder.Dispose();
    }

    private sealed record Harness(RoadmapConfig Config, FakeTimeProvider Time, IEvaluationStore Store, RoadmapMetrics Exporter, EvaluationService Service);

    private Harness Start(string yaml, DateTimeOffset now)
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(yaml, "t.yaml");
        Assert.True(loaded.IsValid, string.Join(Environment.NewLine, loaded.Errors));
        var config = loaded.Config!;
        var time = new FakeTimeProvider(now);
        var store = _db.Evaluations;
        var exporter = new RoadmapMetrics(Metrics.NewCustomRegistry());
        return new Harness(config, time, store, exporter, new EvaluationService(config, _db.Samples, store, exporter, time));
    }

    /// <summary>A new service over the same database and clock: what a restart sees.</summary>
    private EvaluationService Restart(Harness h) => new(h.Config, _db.Samples, h.Store, h.Exporter, h.Time);

    /// <summary>Stores one successful poll per (time, value), each with one sample of <paramref name="signal"/>.</summary>
    private async Task WriteAsync(string source, string signal, params (DateTimeOffset At, double Value)[] samples)
    {
        foreach (var (at, value) in samples)
        {
            Assert.True(_writer.TryEnqueue(new PollRecord(source, at.ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample(signal, value)])));
        }

        await _writer.FlushAsync();
    }

    /// <summary>An October of page loads averaging exactly 2.4: 2.0 and 2.8 alternating, twice a day.</summary>
    private Task WriteOctoberBaselineAsync() =>
        WriteAsync("rum", "latency_seconds", Enumerable.Range(0, 62)
            .Select(i => (new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero).AddHours(12 * i), i % 2 == 0 ? 2.0 : 2.8))
            .ToArray());

    /// <summary>2,000 probes a minute apart before <paramref name="until"/>, one of them down: 99.95% up.</summary>
    private Task WriteUptimeAsync(DateTimeOffset until) =>
        WriteAsync("storefront", "up", Enumerable.Range(1, 2000)
            .Select(i => (until.AddMinutes(-i), i == 1000 ? 0.0 : 1.0))
            .ToArray());

    private static async Task<string> ScrapeAsync(RoadmapMetrics exporter)
    {
        using var stream = new MemoryStream();
        await exporter.ExportAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The value of one exported series (name and labels exactly as exported), or null when it is absent.</summary>
    private static double? Series(string text, string series) => Exposition.Find(text, series);

    private static void AssertSeries(string text, string series, double expected, double tolerance = 1e-9)
    {
        var value = Series(text, series);
        Assert.True(value is not null, $"{series} is not exported:\n{text}");
        Assert.Equal(expected, value.Value, tolerance);
    }

    /// <summary>Asserts a state set: exactly <paramref name="current"/> at 1, every other state at 0.</summary>
    private static void AssertStateSet(string text, string name, string labels, string label, string current, IEnumerable<string> states)
    {
        foreach (var state in states)
        {
            AssertSeries(text, $"{name}{{{labels},{label}=\"{state}\"}}", state == current ? 1 : 0);
        }
    }

    private static void AssertKpiStatus(string text, string initiative, string kpi, string status) =>
        AssertStateSet(text, "roadmap_kpi_status", $"initiative=\"{initiative}\",kpi=\"{kpi}\"", "status", status, ["no_data", "met", "on_track", "at_risk", "missed"]);

    private static void AssertHealth(string text, string initiative, string health) =>
        AssertStateSet(text, "roadmap_initiative_health", $"initiative=\"{initiative}\"", "health", health,
            ["planned", "no_data", "achieved", "on_track", "at_risk", "missed", "done", "cancelled"]);

    private static KpiEvaluation Kpi(RoadmapSnapshot snapshot, string initiative, string kpi) =>
        Assert.Single(snapshot.Kpis, k => k.Initiative == initiative && k.Kpi == kpi);

    // ---- history ----

    [Fact]
    public async Task EvaluateAll_SameStatus_StoresHistoryAtMostEveryFiveMinutes()
    {
        var h = Start(UptimeYaml, T0);
        await WriteAsync("storefront", "up", (T0.AddMinutes(-1), 1));
        var seconds = new[] { 0, 15, 60, 120, 299, 300, 301, 540, 599, 600, 615 };

        foreach (var s in seconds)
        {
            h.Time.SetUtcNow(T0.AddSeconds(s));
            Assert.Equal(KpiStatus.Met, Kpi(h.Service.EvaluateAll(), "cloud-migration", "uptime").Status);
        }

        var history = h.Store.History("cloud-migration", "uptime", T0, T0.AddHours(1));
        Assert.Equal([T0, T0.AddMinutes(5), T0.AddMinutes(10)], history.Select(e => DateTimeOffset.FromUnixTimeMilliseconds(e.TimestampMs)));
        Assert.All(history, e => Assert.Equal("met", e.Status));
        Assert.All(history, e => Assert.Equal(0.999, e.Target));
    }

    [Fact]
    public async Task EvaluateAll_StatusChange_StoresAtOnceThenSpacesAgain()
    {
        var h = Start(UptimeYaml, T0);
        await WriteAsync("storefront", "up", (T0.AddMinutes(-1), 1));
        h.Service.EvaluateAll();

        // A failed probe at T0+30s: the hour's average drops to 0.5 and the objective is missed.
        await WriteAsync("storefront", "up", (T0.AddSeconds(30), 0));
        h.Time.SetUtcNow(T0.AddMinutes(1));
        var missed = Kpi(h.Service.EvaluateAll(), "cloud-migration", "uptime");
        h.Time.SetUtcNow(T0.AddMinutes(2));
        h.Service.EvaluateAll();
        h.Time.SetUtcNow(T0.AddMinutes(6));
        h.Service.EvaluateAll();

        Assert.Equal(KpiStatus.Missed, missed.Status);
        Assert.Equal(0.5, missed.Value);
        var history = h.Store.History("cloud-migration", "uptime", T0, T0.AddHours(1));
        Assert.Equal(
            [(T0, "met", 1.0), (T0.AddMinutes(1), "missed", 0.5), (T0.AddMinutes(6), "missed", 0.5)],
            history.Select(e => (DateTimeOffset.FromUnixTimeMilliseconds(e.TimestampMs), e.Status, e.Value!.Value)));
    }

    [Fact]
    public async Task EvaluateAll_AfterRestart_ContinuesSpacingFromTheStoredHistory()
    {
        var h = Start(UptimeYaml, T0);
        await WriteAsync("storefront", "up", (T0.AddMinutes(-1), 1));
        h.Service.EvaluateAll();

        var restarted = Restart(h);
        h.Time.SetUtcNow(T0.AddMinutes(2));
        restarted.EvaluateAll();
        h.Time.SetUtcNow(T0.AddMinutes(5));
        restarted.EvaluateAll();

        var history = h.Store.History("cloud-migration", "uptime", T0, T0.AddHours(1));
        Assert.Equal([T0, T0.AddMinutes(5)], history.Select(e => DateTimeOffset.FromUnixTimeMilliseconds(e.TimestampMs)));
    }

    [Fact]
    public async Task EvaluateAll_AfterUpgradeFromOldRules_StoresARowUnderTheCurrentRulesAtOnce()
    {
        // The previous Roadmap stored "met" a minute ago under rules 1 (before error budgets over the whole window).
        var h = Start(UptimeYaml, T0);
        await WriteAsync("storefront", "up", (T0.AddMinutes(-1), 1));
        h.Store.Append([new KpiEvaluation("cloud-migration", "uptime", T0.AddMinutes(-1), 1, 0.999, true, KpiStatus.Met, null, 1, "old")]);
        using (var c = _db.OpenConnection())
        {
            Dapper.SqlMapper.Execute(c, "UPDATE evaluations SET rules = 1;");
        }

        Restart(h).EvaluateAll();

        // Within the 5-minute spacing and with the same status label, but judged under other rules: stored anew.
        var history = h.Store.History("cloud-migration", "uptime", T0.AddMinutes(-1), T0);
        Assert.Equal([(1L, "met"), (IEvaluationStore.CurrentRules, "met")], history.Select(e => (e.Rules, e.Status)));
    }

    [Fact]
    public void EvaluateAll_NoSamples_StoresNoDataRowAndExportsNoValue()
    {
        var h = Start(UptimeYaml, T0);

        var kpi = Kpi(h.Service.EvaluateAll(), "cloud-migration", "uptime");

        Assert.Equal(KpiStatus.NoData, kpi.Status);
        var row = Assert.Single(h.Store.History("cloud-migration", "uptime", T0, T0));
        Assert.Equal(new StoredEvaluation(T0.ToUnixTimeMilliseconds(), null, 0.999, "no_data", IEvaluationStore.CurrentRules), row);
        Assert.Empty(h.Store.Values("cloud-migration", "uptime", T0, T0));
    }

    // ---- baselines ----

    [Fact]
    public async Task EvaluateAll_BaselinePeriodEnds_ComputesTheBaselineOnceAndStoresIt()
    {
        var h = Start(PageLoadYaml(), new DateTimeOffset(2026, 10, 31, 23, 59, 59, TimeSpan.Zero));
        // The period's first and last millisecond count; the millisecond either side does not.
        await WriteAsync(
            "rum",
            "latency_seconds",
            (new DateTimeOffset(2026, 9, 30, 23, 59, 59, 999, TimeSpan.Zero), 100),
            (new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero), 2.0),
            (new DateTimeOffset(2026, 10, 31, 23, 59, 59, 999, TimeSpan.Zero), 2.8),
            (new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), 100));

        var beforeEnd = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");
        var textBeforeEnd = await ScrapeAsync(h.Exporter);
        h.Time.SetUtcNow(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        var atEnd = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");
        var text = await ScrapeAsync(h.Exporter);

        Assert.Null(beforeEnd.Target);
        Assert.Null(Series(textBeforeEnd, "roadmap_kpi_target" + PageLoad));
        Assert.NotNull(atEnd.Target);
        Assert.Equal(1.92, atEnd.Target.Value, 1e-9);
        Assert.Equal(2.4, atEnd.Baseline!.Value, 1e-9);
        AssertSeries(text, "roadmap_kpi_target" + PageLoad, 1.92);
        AssertSeries(text, "roadmap_kpi_baseline_value" + PageLoad, 2.4);
        var stored = h.Store.Baseline("frontend", "page-load-p95", October1, October31, AvgDefinition);
        Assert.NotNull(stored);
        Assert.Equal(2.4, stored.Value, 1e-9);
        Assert.Equal(2, stored.Samples);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), stored.ComputedAt);
    }

    [Fact]
    public async Task EvaluateAll_SamplesChangedAfterBaselineStored_KeepsTheStoredBaseline()
    {
        var h = Start(PageLoadYaml(), T0);
        await WriteOctoberBaselineAsync();
        await WriteAsync("rum", "latency_seconds", (T0.AddMinutes(-1), 2.1));
        Assert.Equal(1.92, Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95").Target!.Value, 1e-9);

        // Late samples land in October: a recomputation would give a very different baseline.
        await WriteAsync("rum", "latency_seconds", Enumerable.Range(0, 100).Select(i => (new DateTimeOffset(2026, 10, 15, 0, 0, 0, TimeSpan.Zero).AddMinutes(i), 10.0)).ToArray());
        h.Time.Advance(TimeSpan.FromHours(1));
        await WriteAsync("rum", "latency_seconds", (h.Time.GetUtcNow().AddMinutes(-1), 2.1));
        var sameService = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");
        var afterRestart = Kpi(Restart(h).EvaluateAll(), "frontend", "page-load-p95");

        Assert.Equal(1.92, sameService.Target!.Value, 1e-9);
        Assert.Equal(1.92, afterRestart.Target!.Value, 1e-9);
        Assert.Equal(2.4, afterRestart.Baseline!.Value, 1e-9);
        var stored = h.Store.Baseline("frontend", "page-load-p95", October1, October31, AvgDefinition);
        Assert.Equal(2.4, stored!.Value, 1e-9);
        Assert.Equal(62, stored.Samples);
        Assert.Equal(T0, stored.ComputedAt);
    }

    [Fact]
    public async Task EvaluateAll_KpiRedefinedAfterBaselineStored_ComputesAFreshBaseline()
    {
        var before = Start(PageLoadYaml(), T0);
        await WriteOctoberBaselineAsync();
        await WriteAsync("rum", "latency_seconds", (T0.AddMinutes(-1), 2.1));
        Assert.Equal(1.92, Kpi(before.Service.EvaluateAll(), "frontend", "page-load-p95").Target!.Value, 1e-9);

        // The same KPI id now measures the max: the stored avg baseline no longer applies; October's max is 2.8.
        var after = Start(PageLoadYaml(aggregate: "max"), T0.AddMinutes(1));
        var redefined = Kpi(after.Service.EvaluateAll(), "frontend", "page-load-p95");

        Assert.Equal(2.8, redefined.Baseline!.Value, 1e-9);
        Assert.Equal(2.8 * 0.8, redefined.Target!.Value, 1e-9);
        Assert.Equal(2.4, after.Store.Baseline("frontend", "page-load-p95", October1, October31, AvgDefinition)!.Value, 1e-9);
        Assert.Equal(2.8, after.Store.Baseline("frontend", "page-load-p95", October1, October31, "max(rum:latency_seconds)")!.Value, 1e-9);
    }

    [Fact]
    public async Task EvaluateAll_BaselinePeriodInBerlin_UsesTheLocalDaysBoundaries()
    {
        // In Berlin October 2026 runs from 2026-09-30T22:00Z (CEST) to 2026-10-31T23:00Z (CET, after the change of 25 October).
        var h = Start(PageLoadYaml("Europe/Berlin"), new DateTimeOffset(2026, 10, 31, 22, 59, 59, TimeSpan.Zero));
        await WriteAsync(
            "rum",
            "latency_seconds",
            (new DateTimeOffset(2026, 9, 30, 21, 59, 59, 999, TimeSpan.Zero), 100),
            (new DateTimeOffset(2026, 9, 30, 22, 0, 0, TimeSpan.Zero), 2.0),
            (new DateTimeOffset(2026, 10, 31, 22, 59, 59, 999, TimeSpan.Zero), 2.8),
            (new DateTimeOffset(2026, 10, 31, 23, 0, 0, TimeSpan.Zero), 100));

        var beforeEnd = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");
        h.Time.SetUtcNow(new DateTimeOffset(2026, 10, 31, 23, 0, 0, TimeSpan.Zero));
        var atEnd = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");

        Assert.Null(beforeEnd.Target);
        Assert.Equal(1.92, atEnd.Target!.Value, 1e-9);
        Assert.Equal(2, h.Store.Baseline("frontend", "page-load-p95", October1, October31, AvgDefinition)!.Samples);
    }

    [Fact]
    public async Task EvaluateAll_BaselinePeriodWithoutData_IsNoDataAndRetriedLater()
    {
        var h = Start(PageLoadYaml(), T0);
        await WriteAsync("rum", "latency_seconds", (T0.AddMinutes(-1), 2.1));

        var first = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");
        var text = await ScrapeAsync(h.Exporter);

        Assert.Equal(KpiStatus.NoData, first.Status);
        Assert.Equal(2.1, first.Value);
        Assert.Null(first.Target);
        Assert.Null(h.Store.Baseline("frontend", "page-load-p95", October1, October31, AvgDefinition));
        AssertKpiStatus(text, "frontend", "page-load-p95", "no_data");
        AssertSeries(text, "roadmap_kpi_value" + PageLoad, 2.1);
        Assert.Null(Series(text, "roadmap_kpi_target" + PageLoad));

        // October's samples arrive late (a backfill); the service looks again once the retry interval has passed.
        await WriteOctoberBaselineAsync();
        h.Time.Advance(EvaluationService.BaselineRetry - TimeSpan.FromSeconds(1));
        await WriteAsync("rum", "latency_seconds", (h.Time.GetUtcNow().AddMinutes(-1), 2.1));
        var beforeRetry = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var afterRetry = Kpi(h.Service.EvaluateAll(), "frontend", "page-load-p95");

        Assert.Equal(KpiStatus.NoData, beforeRetry.Status);
        Assert.Null(beforeRetry.Target);
        Assert.Equal(1.92, afterRetry.Target!.Value, 1e-9);
        Assert.Equal(KpiStatus.AtRisk, afterRetry.Status);
        Assert.Equal(2.4, h.Store.Baseline("frontend", "page-load-p95", October1, October31, AvgDefinition)!.Value, 1e-9);
    }

    // ---- the acceptance scenario ----

    /// <summary>
    /// Runs the acceptance roadmap every 15 minutes for two hours from <see cref="T0"/>, the page load sample at each
    /// round given by <paramref name="pageLoad"/> (round 0..8), and returns the last snapshot.
    /// </summary>
    private async Task<RoadmapSnapshot> RunTwoHoursAsync(Harness h, Func<int, double> pageLoad)
    {
        var snapshot = RoadmapSnapshot.Empty;
        for (var round = 0; round <= 8; round++)
        {
            h.Time.SetUtcNow(T0.AddMinutes(15 * round));
            await WriteAsync("rum", "latency_seconds", (h.Time.GetUtcNow().AddSeconds(-30), pageLoad(round)));
            snapshot = h.Service.EvaluateAll();
        }

        return snapshot;
    }

    private async Task<Harness> StartAcceptanceAsync()
    {
        var h = Start(AcceptanceYaml, T0);
        await WriteOctoberBaselineAsync();
        await WriteUptimeAsync(T0);
        return h;
    }

    [Fact]
    public async Task EvaluateAll_AcceptanceWithFallingPageLoad_IsOnTrackAndExportsTargetAndForecast()
    {
        var h = await StartAcceptanceAsync();

        // 2.5 falling 0.05 every 15 minutes (0.2 an hour) to 2.1 at T0+2h.
        var snapshot = await RunTwoHoursAsync(h, round => 2.5 - (0.05 * round));
        var text = await ScrapeAsync(h.Exporter);

        var kpi = Kpi(snapshot, "frontend", "page-load-p95");
        Assert.Equal(KpiStatus.OnTrack, kpi.Status);
        Assert.Equal(2.1, kpi.Value!.Value, 1e-9);
        AssertSeries(text, "roadmap_kpi_target" + PageLoad, 1.92);
        AssertSeries(text, "roadmap_kpi_value" + PageLoad, 2.1);
        AssertSeries(text, "roadmap_kpi_met" + PageLoad, 0);
        AssertSeries(text, "roadmap_kpi_baseline_value" + PageLoad, 2.4);
        AssertKpiStatus(text, "frontend", "page-load-p95", "on_track");
        // The line 2.5 - 0.2/h from T0, at the end of 2027-03-31 (3,012 hours later), is 2.5 - 602.4 = -599.9 s: a
        // latency cannot be negative, so the forecast is 0, and the points on the line leave no doubt about it.
        AssertSeries(text, "roadmap_kpi_forecast_value" + PageLoad, 0);
        AssertSeries(text, "roadmap_kpi_forecast_lower" + PageLoad, 0);
        AssertSeries(text, "roadmap_kpi_forecast_upper" + PageLoad, 0);
        AssertSeries(text, "roadmap_kpi_forecast_probability" + PageLoad, 1);
        // 2027-04-01T00:00:00Z.
        AssertSeries(text, "roadmap_kpi_deadline_timestamp_seconds" + PageLoad, 1806537600);
        Assert.Null(Series(text, "roadmap_kpi_error_budget_remaining_ratio" + PageLoad));
        AssertHealth(text, "frontend", "on_track");

        // Every round was stored (15 minutes apart); the first five had too little history to forecast.
        var history = h.Store.History("frontend", "page-load-p95", T0, T0.AddHours(2));
        Assert.Equal(
            ["at_risk", "at_risk", "at_risk", "at_risk", "at_risk", "on_track", "on_track", "on_track", "on_track"],
            history.Select(e => e.Status));
    }

    [Fact]
    public async Task EvaluateAll_AcceptanceWithFlatPageLoad_IsAtRisk()
    {
        var h = await StartAcceptanceAsync();

        var snapshot = await RunTwoHoursAsync(h, _ => 2.1);
        var text = await ScrapeAsync(h.Exporter);

        Assert.Equal(KpiStatus.AtRisk, Kpi(snapshot, "frontend", "page-load-p95").Status);
        AssertSeries(text, "roadmap_kpi_target" + PageLoad, 1.92);
        AssertSeries(text, "roadmap_kpi_value" + PageLoad, 2.1);
        AssertKpiStatus(text, "frontend", "page-load-p95", "at_risk");
        // Flat: the trend stays at 2.1, above 1.92.
        AssertSeries(text, "roadmap_kpi_forecast_value" + PageLoad, 2.1, 1e-6);
        AssertHealth(text, "frontend", "at_risk");
    }

    [Fact]
    public async Task EvaluateAll_AcceptanceAfterTheDeadline_IsMissedEvenAfterAFallingTrend()
    {
        var h = await StartAcceptanceAsync();
        var onTrack = await RunTwoHoursAsync(h, round => 2.5 - (0.05 * round));

        h.Time.SetUtcNow(DeadlineEnd);
        await WriteAsync("rum", "latency_seconds", (DeadlineEnd.AddMinutes(-1), 2.1));
        var snapshot = h.Service.EvaluateAll();
        var text = await ScrapeAsync(h.Exporter);

        Assert.Equal(KpiStatus.OnTrack, Kpi(onTrack, "frontend", "page-load-p95").Status);
        var kpi = Kpi(snapshot, "frontend", "page-load-p95");
        Assert.Equal(KpiStatus.Missed, kpi.Status);
        Assert.Equal(1.92, kpi.Target!.Value, 1e-9);
        AssertKpiStatus(text, "frontend", "page-load-p95", "missed");
        AssertSeries(text, "roadmap_kpi_target" + PageLoad, 1.92);
        AssertSeries(text, "roadmap_kpi_met" + PageLoad, 0);
        // Once the deadline has passed the value is the verdict: no forecast.
        Assert.Null(kpi.Forecast);
        Assert.Null(Series(text, "roadmap_kpi_forecast_value" + PageLoad));
        AssertHealth(text, "frontend", "missed");
    }

    [Fact]
    public async Task EvaluateAll_AcceptanceUptimeAt99Point95_IsMetWithItsShareOfTheWholeWindowsBudgetSpent()
    {
        var h = await StartAcceptanceAsync();

        var snapshot = await RunTwoHoursAsync(h, _ => 2.1);
        var text = await ScrapeAsync(h.Exporter);

        var uptime = Kpi(snapshot, "cloud-migration", "uptime");
        Assert.Equal(KpiStatus.Met, uptime.Status);
        Assert.Equal(2000, uptime.Samples);
        AssertSeries(text, "roadmap_kpi_value" + Uptime, 0.9995);
        AssertSeries(text, "roadmap_kpi_target" + Uptime, 0.999);
        AssertSeries(text, "roadmap_kpi_met" + Uptime, 1);
        // Half the shortfall the target allows, but over only the 2,000 minutes seen (from one 15-s default poll
        // interval before the first sample, T0 - 2000 min, to T0 + 2 h) of the 43,200-minute window.
        var coverage = (2000 + 120 + 0.25) / 43_200;
        AssertSeries(text, "roadmap_kpi_window_coverage_ratio" + Uptime, coverage);
        AssertSeries(text, "roadmap_kpi_error_budget_remaining_ratio" + Uptime, 1 - (0.5 * coverage));
        AssertKpiStatus(text, "cloud-migration", "uptime", "met");
        // Burn rates over the short windows: no failure in the last 5 minutes; one failed minute-sample of the
        // 2,000 (at T0 - 1000 min) is inside the 1d and 3d windows only.
        AssertSeries(text, "roadmap_kpi_burn_rate{initiative=\"cloud-migration\",kpi=\"uptime\",window=\"5m\"}", 0);
        Assert.True(Series(text, "roadmap_kpi_burn_rate{initiative=\"cloud-migration\",kpi=\"uptime\",window=\"1d\"}") > 0);
        // An objective has no deadline and so no forecast.
        Assert.Null(Series(text, "roadmap_kpi_forecast_value" + Uptime));
        Assert.Null(Series(text, "roadmap_kpi_deadline_timestamp_seconds" + Uptime));
    }

    [Fact]
    public async Task EvaluateAll_AcceptanceDependencies_ExportBlockedOnlyForTheInitiativeWaitingOnAnUnfinishedOne()
    {
        var h = await StartAcceptanceAsync();

        var snapshot = h.Service.EvaluateAll();
        var text = await ScrapeAsync(h.Exporter);

        // cloud-migration depends on platform (done) and security (in progress); frontend only on platform.
        AssertSeries(text, "roadmap_initiative_blocked{initiative=\"cloud-migration\"}", 1);
        AssertSeries(text, "roadmap_initiative_blocked{initiative=\"frontend\"}", 0);
        AssertSeries(text, "roadmap_initiative_blocked{initiative=\"security\"}", 0);
        AssertSeries(text, "roadmap_initiative_blocked{initiative=\"platform\"}", 0);
        Assert.Equal(["security"], Assert.Single(snapshot.Initiatives, i => i.Initiative == "cloud-migration").BlockedBy);
        Assert.Empty(Assert.Single(snapshot.Initiatives, i => i.Initiative == "frontend").BlockedBy);

        // Health is a state set beside the flag: blocked cloud-migration still has all its KPIs met.
        AssertHealth(text, "cloud-migration", "achieved");
        AssertHealth(text, "platform", "done");
        AssertHealth(text, "security", "no_data");
        AssertSeries(text, "roadmap_initiative_kpis_met{initiative=\"cloud-migration\"}", 1);
    }

    [Fact]
    public async Task EvaluateAll_BeforeTheTimelineStartsInTheRoadmapZone_ExportsPlannedThenTheKpiHealth()
    {
        // 2027-Q1 starts at 2027-01-01 00:00 PST = 08:00Z in Los Angeles.
        var yaml = """
            roadmap: { name: R }
            settings: { timezone: America/Los_Angeles }
            sources:
              - { id: storefront, kind: http, url: "http://127.0.0.1:1/healthz" }
            initiatives:
              - id: cloud-migration
                name: Migrate to a new cloud provider
                timeline: 2027-Q1
                status: in-progress
                kpis:
                  - { id: uptime, source: storefront, signal: up, aggregate: avg, window: 1h, target: ">= 99.9%" }
            """;
        var h = Start(yaml, new DateTimeOffset(2027, 1, 1, 7, 59, 59, TimeSpan.Zero));
        await WriteAsync("storefront", "up", (new DateTimeOffset(2027, 1, 1, 7, 30, 0, TimeSpan.Zero), 1));

        var before = h.Service.EvaluateAll();
        var textBefore = await ScrapeAsync(h.Exporter);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var after = h.Service.EvaluateAll();
        var textAfter = await ScrapeAsync(h.Exporter);

        Assert.Equal(Health.Planned, Assert.Single(before.Initiatives).Health);
        AssertHealth(textBefore, "cloud-migration", "planned");
        Assert.Equal(Health.Achieved, Assert.Single(after.Initiatives).Health);
        AssertHealth(textAfter, "cloud-migration", "achieved");
        Assert.Same(after, h.Service.Latest);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 8, 0, 0, TimeSpan.Zero), after.At);
        AssertSeries(textAfter, "roadmap_evaluations_total", 2);

        // Each round's duration is observed once, by the real clock (the fake one stands still during a round).
        AssertSeries(textAfter, "roadmap_evaluation_duration_seconds_count", 2);
        AssertSeries(textAfter, "roadmap_evaluation_duration_seconds_bucket{le=\"+Inf\"}", 2);
        Assert.InRange(Series(textAfter, "roadmap_evaluation_duration_seconds_sum")!.Value, 1e-7, 30);
    }
}
