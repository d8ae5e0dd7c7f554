using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Tests.Exporting;

public sealed class RoadmapMetricsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static async Task<string> ScrapeAsync(RoadmapMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.ExportAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The exposition line of the uptime KPI's series of <paramref name="metric"/> at <paramref name="value"/>.</summary>
    private static string Uptime(string metric, double value) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{metric}{{initiative=\"cloud-migration\",kpi=\"uptime\"}} {value}\n");

    private static KpiEvaluation Evaluation(double? value, KpiStatus status, bool met) =>
        new("cloud-migration", "uptime", Now, value, 0.999, met, status, null, 10, "test");

    [Theory]
    [InlineData(KpiStatus.Met, "met")]
    [InlineData(KpiStatus.Missed, "missed")]
    [InlineData(KpiStatus.AtRisk, "at_risk")]
    [InlineData(KpiStatus.NoData, "no_data")]
    public async Task RecordEvaluation_Status_IsAStateSetWithExactlyTheCurrentStatusAtOne(KpiStatus status, string label)
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());

        metrics.RecordEvaluation(Evaluation(status == KpiStatus.NoData ? null : 0.5, status, status == KpiStatus.Met));

        var text = await ScrapeAsync(metrics);
        string[] all = ["no_data", "met", "on_track", "at_risk", "missed"];
        foreach (var s in all)
        {
            var expected = s == label ? 1 : 0;
            Assert.Contains($"roadmap_kpi_status{{initiative=\"cloud-migration\",kpi=\"uptime\",status=\"{s}\"}} {expected}\n", text);
        }
    }

    [Fact]
    public async Task RecordEvaluation_BudgetKpi_ExportsCoverageEveryBurnWindowAndRemovesThemWhenGone()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        var burns = ErrorBudget.BurnWindows.Select((w, i) => new BurnRate(w.Label, w.Window, i + 0.5)).ToList();
        metrics.RecordEvaluation(Evaluation(0.9995, KpiStatus.Met, true) with { Coverage = 0.25, ErrorBudgetRemaining = 0.9, BurnRates = burns });

        var text = await ScrapeAsync(metrics);
        Assert.Contains(Uptime("roadmap_kpi_window_coverage_ratio", 0.25), text);
        Assert.Contains(Uptime("roadmap_kpi_error_budget_remaining_ratio", 0.9), text);
        foreach (var (label, rate) in new[] { ("5m", 0.5), ("30m", 1.5), ("1h", 2.5), ("2h", 3.5), ("6h", 4.5), ("1d", 5.5), ("3d", 6.5) })
        {
            Assert.Contains($"roadmap_kpi_burn_rate{{initiative=\"cloud-migration\",kpi=\"uptime\",window=\"{label}\"}} {rate}\n", text);
        }

        // No longer a budget KPI (a reload changed its aggregate): its budget and burn rates leave /metrics.
        metrics.RecordEvaluation(Evaluation(0.9995, KpiStatus.Met, true) with { Coverage = 1 });

        text = await ScrapeAsync(metrics);
        Assert.DoesNotContain("roadmap_kpi_burn_rate{", text);
        Assert.DoesNotContain("roadmap_kpi_error_budget_remaining_ratio{", text);
        Assert.Contains(Uptime("roadmap_kpi_window_coverage_ratio", 1), text);
    }

    [Fact]
    public async Task RecordEvaluation_Forecast_ExportsTheBandAndTheProbability()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());

        metrics.RecordEvaluation(Evaluation(2.1, KpiStatus.OnTrack, false) with { Forecast = 1.849, ForecastLower = 1.72, ForecastUpper = 1.98, ForecastProbability = 0.76 });

        var text = await ScrapeAsync(metrics);
        Assert.Contains(Uptime("roadmap_kpi_forecast_lower", 1.72), text);
        Assert.Contains(Uptime("roadmap_kpi_forecast_upper", 1.98), text);
        Assert.Contains(Uptime("roadmap_kpi_forecast_probability", 0.76), text);
    }

    [Fact]
    public async Task RecordEvaluation_NoDataAfterAValue_RemovesTheValueSeriesButKeepsTheTarget()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        metrics.RecordEvaluation(Evaluation(0.9995, KpiStatus.Met, true));
        Assert.Contains("roadmap_kpi_value{initiative=\"cloud-migration\",kpi=\"uptime\"} 0.9995\n", await ScrapeAsync(metrics));

        metrics.RecordEvaluation(Evaluation(null, KpiStatus.NoData, false));

        var text = await ScrapeAsync(metrics);
        Assert.DoesNotContain("roadmap_kpi_value{", text);
        Assert.Contains("roadmap_kpi_target{initiative=\"cloud-migration\",kpi=\"uptime\"} 0.999\n", text);
        Assert.Contains("roadmap_kpi_met{initiative=\"cloud-migration\",kpi=\"uptime\"} 0\n", text);
    }

    [Fact]
    public async Task CollectStorage_Sqlite_ExportsTheMemorySqliteHoldsAtMostItsHighWaterMark()
    {
        using var temp = new TempFolder();
        var storage = StorageBackends.Open(new StorageOptions { Path = temp.File("roadmap.db") });
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        await using var writer = new BatchedWriter(storage, new StorageOptions(), TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(writer.TryEnqueue(new PollRecord($"web-{i % 50}", start.AddSeconds(i).ToUnixTimeMilliseconds(), 0.01, true, null, [new("up", 1), new("latency_seconds", 0.001 * (i % 50))])));
        }

        await writer.FlushAsync();
        metrics.CollectStorage(writer);
        var text = await ScrapeAsync(metrics);

        var value = Exposition.Value(text, "roadmap_storage_sqlite_memory_bytes");
        // The writer's connection holds pages of what it wrote; never more than SQLite's own high-water mark.
        Assert.InRange(value, 64 * 1024, SQLitePCL.raw.sqlite3_memory_highwater(0));
    }

    [Fact]
    public async Task CollectStorage_ExportsTheBatchesAndTheWritersBusyTimeByStep()
    {
        using var temp = new TempFolder();
        var storage = StorageBackends.Open(new StorageOptions { Path = temp.File("roadmap.db") });
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        var ran = System.Diagnostics.Stopwatch.StartNew();
        await using var writer = new BatchedWriter(storage, new StorageOptions(), TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        metrics.CollectStorage(writer);
        var before = await ScrapeAsync(metrics);
        writer.Start();
        var start = DateTimeOffset.UtcNow.AddMinutes(-30);
        for (var i = 0; i < 1_000; i++)
        {
            Assert.True(writer.TryEnqueue(new PollRecord($"web-{i % 50}", start.AddSeconds(i).ToUnixTimeMilliseconds(), 0.01, true, null, [new("up", 1)])));
        }

        await writer.FlushAsync();
        // Stopped before the scrape: after a flush the loop still prunes and compacts, whose CPU time would land
        // between the scrape and the reads of the writer's own figures below.
        await writer.DisposeAsync();
        metrics.CollectStorage(writer);
        var after = await ScrapeAsync(metrics);
        var elapsed = ran.Elapsed.TotalSeconds;

        // Every step is there from the start, at 0, so a rate over the first minutes has a point to start from.
        Assert.Equal(0, Exposition.Value(before, "roadmap_storage_batches_total"));
        foreach (var step in RoadmapMetrics.WriterSteps)
        {
            Assert.Equal(0, Exposition.Value(before, $"roadmap_storage_writer_busy_seconds_total{{step=\"{step}\"}}"));
        }

        Assert.Equal(writer.Batches, Exposition.Value(after, "roadmap_storage_batches_total"));
        Assert.True(writer.Batches >= 1);
        var batch = Exposition.Value(after, "roadmap_storage_writer_busy_seconds_total{step=\"batch\"}");
        Assert.Equal(writer.Busy.Batches.TotalSeconds, batch, 6);
        Assert.InRange(batch, 1e-6, elapsed);
        var all = RoadmapMetrics.WriterSteps.Sum(step => Exposition.Value(after, $"roadmap_storage_writer_busy_seconds_total{{step=\"{step}\"}}"));
        Assert.InRange(all, batch, elapsed);

        // The CPU time of the steps (Linux's per-thread clock): above 0 once a batch was written, and at most their
        // wall time (plus the two clocks' granularity).
        Assert.True(OperatingSystem.IsLinux(), "these tests run on Linux, where the writer's CPU time is read");
        Assert.Equal(0, Exposition.Value(before, "roadmap_storage_writer_cpu_seconds_total"));
        var cpu = Exposition.Value(after, "roadmap_storage_writer_cpu_seconds_total");
        Assert.Equal(writer.Busy.Cpu!.Value.TotalSeconds, cpu, 6);
        Assert.InRange(cpu, 1e-6, all + 0.01);
    }

    [Fact]
    public async Task CollectStorage_WriterConvertsADatabaseWrittenBeforeChunks_CountsWhatItSealed()
    {
        using var temp = new TempFolder();
        var storage = StorageBackends.Open(new StorageOptions { Path = temp.File("roadmap.db") });
        // Two whole UTC days, recent enough for retention, of two series every minute, all hot: as before chunks.
        var day = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(-5), TimeSpan.Zero);
        const int Minutes = 2 * 24 * 60;
        await using (var hot = new BatchedWriter(storage, new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }, TimeProvider.System, NullLogger<BatchedWriter>.Instance))
        {
            hot.Start();
            for (var i = 0; i < Minutes; i++)
            {
                Assert.True(hot.TryEnqueue(new PollRecord("web", day.AddMinutes(i).ToUnixTimeMilliseconds(), 0.01, true, null, [new("up", 1), new("latency_seconds", 0.001 * (i % 50))])));
            }

            await hot.FlushAsync();
        }

        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        await using var writer = new BatchedWriter(storage, new StorageOptions(), TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        metrics.CollectStorage(writer);
        var before = await ScrapeAsync(metrics);

        // Its first sweep after start is the conversion: every closed day sealed, one chunk per series and day.
        writer.Start();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (writer.LastSweep is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        metrics.CollectStorage(writer);
        var after = await ScrapeAsync(metrics);

        Assert.Contains("roadmap_storage_chunks_sealed_total 0\n", before);
        Assert.Contains("roadmap_storage_samples_sealed_total 0\n", before);
        Assert.DoesNotMatch("(?m)^roadmap_storage_compaction_last_sweep_seconds ", before);
        Assert.Contains("roadmap_storage_chunks_sealed_total 4\n", after);
        Assert.Contains($"roadmap_storage_samples_sealed_total {2 * Minutes}\n", after);
        Assert.Contains($"roadmap_storage_compaction_last_sweep_samples {2 * Minutes}\n", after);
        Assert.Matches(@"(?m)^roadmap_storage_compaction_last_sweep_seconds [0-9.e+-]+$", after);
        // The conversion is the writer's compaction work; no poll came, so no batch was.
        Assert.Equal(0, Exposition.Value(before, "roadmap_storage_writer_busy_seconds_total{step=\"compaction\"}"));
        Assert.True(Exposition.Value(after, "roadmap_storage_writer_busy_seconds_total{step=\"compaction\"}") > 0);
        Assert.Equal(0, Exposition.Value(after, "roadmap_storage_writer_busy_seconds_total{step=\"batch\"}"));
        using var c = new SqliteConnection($"Data Source={temp.File("roadmap.db")};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT (SELECT count(*) FROM chunks) || ' ' || (SELECT sum(count) FROM chunks) || ' ' || (SELECT count(*) FROM samples);";
        Assert.Equal($"4 {2 * Minutes} 0", cmd.ExecuteScalar());
    }

    [Fact]
    public async Task RecordPoll_FailureThenSuccess_CountsBothAndSetsUpAndLastSuccess()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        var source = new SourceConfig("web", "http", new PollSchedule(TimeSpan.FromSeconds(15), null), TimeSpan.FromSeconds(5), new object(), ["up"]);

        metrics.RecordPoll(source, PollResult.Failed("connection refused", TimeSpan.FromMilliseconds(3), [new Sample("up", 0)]), Now);
        var afterFailure = await ScrapeAsync(metrics);
        metrics.RecordPoll(source, PollResult.Ok([new Sample("up", 1)], TimeSpan.FromMilliseconds(20)), Now.AddSeconds(15));
        var afterSuccess = await ScrapeAsync(metrics);

        Assert.Contains("roadmap_source_up{source=\"web\",kind=\"http\"} 0\n", afterFailure);
        Assert.DoesNotContain("roadmap_source_last_success_timestamp_seconds{", afterFailure);
        Assert.Contains("roadmap_source_up{source=\"web\",kind=\"http\"} 1\n", afterSuccess);
        Assert.Contains("roadmap_source_polls_total{source=\"web\",kind=\"http\",outcome=\"failure\"} 1\n", afterSuccess);
        Assert.Contains("roadmap_source_polls_total{source=\"web\",kind=\"http\",outcome=\"success\"} 1\n", afterSuccess);
        Assert.Contains($"roadmap_source_last_success_timestamp_seconds{{source=\"web\",kind=\"http\"}} {Now.AddSeconds(15).ToUnixTimeSeconds()}\n", afterSuccess);
        Assert.Contains("roadmap_source_poll_duration_seconds_count{source=\"web\",kind=\"http\"} 2\n", afterSuccess);
        Assert.Contains("roadmap_signal_value{source=\"web\",signal=\"up\"} 1\n", afterSuccess);
        Assert.Equal(2, metrics.PollCount);
    }

    [Fact]
    public async Task Describe_Config_DeclaresInfoSeriesAndZeroedPollCounters()
    {
        var yaml = """
            roadmap: { name: R, goals: [{ id: speed, title: Faster }] }
            sources:
              - { id: web, kind: http, url: "http://127.0.0.1:1/" }
            initiatives:
              - id: frontend
                name: Enhance frontend performance
                goal: speed
                status: in-progress
                kpis:
                  - { id: p95, name: Page p95, source: web, signal: latency_seconds, aggregate: p95, window: 1d, target: "<= 0.3", unit: seconds }
            """;
        var config = new ConfigLoader(SourceKinds.All).Load(yaml, "r.yaml").Config!;
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());

        metrics.Describe(config);

        var text = await ScrapeAsync(metrics);
        Assert.Contains("roadmap_initiative_info{initiative=\"frontend\",name=\"Enhance frontend performance\",goal=\"speed\",declared_status=\"in-progress\"} 1\n", text);
        Assert.Contains("roadmap_kpi_info{initiative=\"frontend\",kpi=\"p95\",name=\"Page p95\",unit=\"seconds\",aggregate=\"p95\",window=\"1d\",comparison=\"<=\"} 1\n", text);
        Assert.Contains("roadmap_source_polls_total{source=\"web\",kind=\"http\",outcome=\"failure\"} 0\n", text);
        Assert.Contains("roadmap_build_info{version=\"0.1.0\"} 1\n", text);
    }

    [Theory]
    [InlineData("http")] // the same source back after a reload removed it
    [InlineData("tcp")] // the id now names a source of another kind
    public async Task RecordPoll_AfterForgetSource_WritesFreshSeriesNotTheForgottenOnes(string kindAfter)
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        SourceConfig Source(string kind) => new("web", kind, new PollSchedule(TimeSpan.FromSeconds(1), null), TimeSpan.FromSeconds(1), new object(), ["up"]);
        metrics.RecordPoll(Source("http"), PollResult.Ok([new Sample("up", 1)], TimeSpan.FromMilliseconds(5)), Now);
        metrics.RecordPoll(Source("http"), PollResult.Ok([new Sample("up", 1)], TimeSpan.FromMilliseconds(5)), Now);

        metrics.ForgetSource("web", null);
        Assert.DoesNotContain("source=\"web\"", await ScrapeAsync(metrics));
        metrics.RecordPoll(Source(kindAfter), PollResult.Failed("refused", TimeSpan.FromMilliseconds(5), [new Sample("up", 0)]), Now);

        var text = await ScrapeAsync(metrics);
        Assert.Contains($"roadmap_source_polls_total{{source=\"web\",kind=\"{kindAfter}\",outcome=\"failure\"}} 1\n", text);
        Assert.Contains($"roadmap_source_up{{source=\"web\",kind=\"{kindAfter}\"}} 0\n", text);
        Assert.Contains("roadmap_signal_value{source=\"web\",signal=\"up\"} 0\n", text);
        Assert.Contains($"roadmap_source_poll_duration_seconds_count{{source=\"web\",kind=\"{kindAfter}\"}} 1\n", text);
    }

    [Fact]
    public async Task RecordPoll_SameIdNewKindWithoutForget_WritesUnderTheNewKind()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        SourceConfig Source(string kind) => new("web", kind, new PollSchedule(TimeSpan.FromSeconds(1), null), TimeSpan.FromSeconds(1), new object(), ["up"]);

        metrics.RecordPoll(Source("http"), PollResult.Ok([new Sample("up", 1)], TimeSpan.FromMilliseconds(5)), Now);
        metrics.RecordPoll(Source("tcp"), PollResult.Ok([new Sample("up", 1)], TimeSpan.FromMilliseconds(5)), Now);

        var text = await ScrapeAsync(metrics);
        Assert.Contains("roadmap_source_polls_total{source=\"web\",kind=\"tcp\",outcome=\"success\"} 1\n", text);
        Assert.Contains("roadmap_source_polls_total{source=\"web\",kind=\"http\",outcome=\"success\"} 1\n", text);
    }

    [Fact]
    public async Task Scope_NotTheEvaluatorNorTheSourcesOwner_ExportsNeitherAndTakesThemBackWhenItIs()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        var judges = false;
        var holds = false;
        metrics.Scope(() => judges, id => holds && id == "web");
        var config = new ConfigLoader(SourceKinds.All).Load(
            """
            roadmap: { name: R }
            sources:
              - { id: web, kind: http, url: "http://127.0.0.1:1/" }
            initiatives:
              - id: cloud-migration
                name: Cloud
                kpis:
                  - { id: uptime, name: Uptime, source: web, signal: up, aggregate: avg, window: 1d, target: ">= 0.99" }
            """,
            "r.yaml").Config!;
        var source = config.Sources[0];
        metrics.Describe(config);
        metrics.RecordEvaluation(Evaluation(0.5, KpiStatus.AtRisk, false));
        metrics.RecordPoll(source, new PollResult([new Sample("up", 1)], null, TimeSpan.FromMilliseconds(5)), Now);

        var away = await ScrapeAsync(metrics);
        Assert.DoesNotContain("roadmap_kpi_value{", away, StringComparison.Ordinal);
        Assert.DoesNotContain("roadmap_kpi_info{", away, StringComparison.Ordinal);
        Assert.DoesNotContain("roadmap_initiative_info{", away, StringComparison.Ordinal);
        Assert.DoesNotContain("source=\"web\"", away, StringComparison.Ordinal);

        (judges, holds) = (true, true);
        metrics.RecordEvaluation(Evaluation(0.5, KpiStatus.AtRisk, false));
        metrics.RecordPoll(source, new PollResult([new Sample("up", 1)], null, TimeSpan.FromMilliseconds(5)), Now);

        var back = await ScrapeAsync(metrics);
        Assert.Contains(Uptime("roadmap_kpi_value", 0.5), back);
        Assert.Contains("roadmap_initiative_info{initiative=\"cloud-migration\"", back, StringComparison.Ordinal);
        Assert.Contains("roadmap_source_up{source=\"web\",kind=\"http\"} 1", back, StringComparison.Ordinal);
        Assert.Contains("roadmap_signal_value{source=\"web\",signal=\"up\"} 1\n", back, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgetSource_ReplacedByOneEmittingFewerSignals_KeepsTheValuesOfThoseItStillEmits()
    {
        var metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        SourceConfig Source(params string[] signals) => new("web", "http", new PollSchedule(TimeSpan.FromSeconds(1), null), TimeSpan.FromSeconds(1), new object(), signals);
        metrics.RecordPoll(Source("up", "status_code", "latency_seconds"), PollResult.Ok([new("up", 1), new("status_code", 200), new("latency_seconds", 0.25)], TimeSpan.FromMilliseconds(5)), Now);

        metrics.ForgetSource("web", Source("up", "latency_seconds"));

        var text = await ScrapeAsync(metrics);
        Assert.Contains("roadmap_signal_value{source=\"web\",signal=\"up\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("roadmap_signal_value{source=\"web\",signal=\"latency_seconds\"} 0.25\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("signal=\"status_code\"", text, StringComparison.Ordinal);
    }
}
