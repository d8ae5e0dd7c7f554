using Microsoft.Data.Sqlite;
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
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

/// <summary>The reason behind a KPI not met, as the view, the board, the markdown report and the JSON carry it.</summary>
public sealed class KpiReasonViewTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<RoadmapView> ViewAsync()
    {
        var database = await _f.WriteSamplesAsync();
        return RoadmapViewBuilder.Build(_f.Config, _f.Evaluation(database).EvaluateAll());
    }

    [Fact]
    public async Task Build_SourceFailing_SaysSinceWhenItFailsAndItsLastError()
    {
        var view = await ViewAsync();

        // The fixture's db source failed its three polls, the first 30 minutes before now, with "connection refused".
        var reason = view.FindInitiative("db-perf")!.FindKpi("query-time")!.Reason!;
        Assert.Equal("source_failing", reason.Code);
        Assert.Equal(ReportFixture.Now.AddMinutes(-30), reason.Since);
        Assert.Equal("connection refused", reason.Error);
        Assert.StartsWith("its source db has failed every poll since 2026-11-26 11:30:00 UTC: connection refused", reason.Text, StringComparison.Ordinal);
        Assert.Equal("source_failing", view.FindInitiative("db-perf")!.FindKpi("errors")!.Reason!.Code);
    }

    [Fact]
    public async Task Build_ValueMisses_SaysByHowMuchInTheKpisUnit()
    {
        var view = await ViewAsync();

        // web's latency p95 is 0.5 s against "<= 0.3".
        var reason = view.FindInitiative("cloud")!.FindKpi("latency")!.Reason!;
        Assert.Equal("misses_target", reason.Code);
        Assert.Equal(0.2, reason.Shortfall!.Value, 1e-12);
        Assert.Equal("0.5 s misses the target <= 0.3 by 0.2 s", reason.Text);
        Assert.Null(reason.Since);
        Assert.Null(reason.Error);
    }

    [Fact]
    public async Task Build_Met_HasNoReason()
    {
        var view = await ViewAsync();

        Assert.Equal("met", view.FindInitiative("cloud")!.FindKpi("uptime")!.Status);
        Assert.Null(view.FindInitiative("cloud")!.FindKpi("uptime")!.Reason);
    }

    [Fact]
    public void Build_NotEvaluated_HasNoReason()
    {
        var view = RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty);

        Assert.All(view.Initiatives.SelectMany(i => i.Kpis), k => Assert.Null(k.Reason));
    }

    [Fact]
    public async Task Render_BoardAndMarkdown_ShowTheReasonUnderTheStatus()
    {
        var view = await ViewAsync();

        var html = HtmlRenderer.Render(view);
        var markdown = MarkdownRenderer.Render(view);

        Assert.Contains("<span class=\"reason\" data-reason=\"misses_target\">Why: 0.5 s misses the target &lt;= 0.3 by 0.2 s</span>", html);
        Assert.Contains("<span class=\"reason\" data-reason=\"source_failing\">Why: its source db has failed every poll since 2026-11-26 11:30:00 UTC: connection refused", html);
        var uptime = html[html.IndexOf("<li data-kpi=\"uptime\"", StringComparison.Ordinal)..];
        Assert.DoesNotContain("class=\"reason\"", uptime[..uptime.IndexOf("</li>", StringComparison.Ordinal)]);
        Assert.Contains("Response time: 0.5 s vs <= 0.3, missed (1h window, 30 min observed) — why: 0.5 s misses the target <= 0.3 by 0.2 s", markdown);
    }

    [Theory]
    [InlineData("ratio", 0.9, ">= 99%", "90% misses the target >= 99% by 9 percentage points")]
    [InlineData("percent", 97.5, ">= 99", "97.5% misses the target >= 99 by 1.5 percentage points")]
    [InlineData("ms", 250.0, "<= 200", "250 ms misses the target <= 200 by 50 ms")]
    [InlineData(null, 3.0, "== 0", "3 misses the target == 0 by 3")]
    public void Of_MissesTarget_SaysTheShortfallInTheUnit(string? unit, double value, string target, string expected)
    {
        Assert.True(Target.TryParse(target, out var t));
        var kpi = new KpiConfig("k", "K", "s", "v", [], Aggregate.Last, Window.OfDuration(TimeSpan.FromHours(1)), t, null, null, unit);
        var evaluation = new KpiEvaluation("i", "k", ReportFixture.Now, value, t.Value, false, KpiStatus.Missed, null, 1, "target not met")
        {
            Reason = new KpiReason(KpiReasonCode.MissesTarget, KpiReasons.Shortfall(t.Op, value, t.Value)),
        };

        Assert.Equal(expected, KpiReasonText.Of(kpi, evaluation)!.Text);
    }

    [Fact]
    public void Of_EveryCode_HasItsOwnSentence()
    {
        Assert.True(Target.TryParse("<= baseline - 20%", out var relative));
        var kpi = new KpiConfig("k", "K", "s", "v", [], Aggregate.Avg, Window.OfDuration(TimeSpan.FromDays(30)), relative,
            new Baseline(null, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31)), new DateOnly(2027, 3, 31), "seconds");
        var e = new KpiEvaluation("i", "k", ReportFixture.Now, 0.5, 0.4, false, KpiStatus.AtRisk, null, 1, "note of the evaluator",
            Coverage: 0.1, WindowLength: TimeSpan.FromDays(30));

        string Text(KpiReason reason) => KpiReasonText.Of(kpi, e with { Reason = reason })!.Text;

        Assert.Equal("no data: note of the evaluator", Text(new KpiReason(KpiReasonCode.NoData)));
        Assert.Equal("baseline pending: the baseline period 2026-10-01 to 2026-10-31 has no value yet, so the target is unknown", Text(new KpiReason(KpiReasonCode.BaselinePending)));
        Assert.Equal(
            "only 3 days of its 30d window observed (10%, under 25%); so far 0.5 s misses the target <= baseline - 20% (= 0.4 s) by 0.1 s",
            Text(new KpiReason(KpiReasonCode.LowCoverage, 0.1)));
        Assert.Equal(
            "0.5 s misses the target <= baseline - 20% (= 0.4 s) by 0.1 s, and too little history to forecast it by 2027-03-31 (a forecast needs 5 stored evaluations over at least 1h)",
            Text(new KpiReason(KpiReasonCode.ShortHistory, 0.1)));
    }

    /// <summary>
    /// A failure reason that quotes HTML and the source's secret (stored so by an older build, or by a server echo the
    /// poll boundary missed): the board shows it redacted with the source's current secret and HTML-encoded.
    /// </summary>
    [Fact]
    public async Task Render_HostileFailureReason_IsRedactedAndEncodedOnTheBoardAndInTheJson()
    {
        const string Secret = "hunter2-secret-value";
        var loaded = new ConfigLoader(SourceKinds.All).Load($$"""
            roadmap: { name: Hostile }
            sources:
              - { id: api, kind: json, url: "http://127.0.0.1:1/stats", signals: { rate: $.rate }, headers: { Authorization: "Bearer {{Secret}}" } }
            initiatives:
              - id: i
                name: I
                kpis:
                  - { id: rate, source: api, signal: rate, aggregate: last, window: 1h, target: "<= 0.4" }
            """, "hostile.yaml");
        Assert.Empty(loaded.Errors);
        var path = Path.Combine(_f.Dir, "hostile.db");
        var database = RoadmapDatabase.Open(path);
        await using (var writer = new BatchedWriter(database, new StorageOptions { Path = path }, TimeProvider.System, NullLogger<BatchedWriter>.Instance))
        {
            writer.Start();
            var ts = ReportFixture.Now.AddMinutes(-5).ToUnixTimeMilliseconds();
            Assert.True(writer.TryEnqueue(new PollRecord("api", ts, 0.1, false, $"HTTP 500: <script>alert('x')</script> for Bearer {Secret}", [])));
            await writer.FlushAsync();
        }

        var evaluation = new EvaluationService(loaded.Config!, database.Samples, database.Evaluations, new RoadmapMetrics(Metrics.NewCustomRegistry()), new FakeTimeProvider(ReportFixture.Now));
        var view = RoadmapViewBuilder.Build(loaded.Config!, evaluation.EvaluateAll());
        var html = HtmlRenderer.Render(view);
        var json = JsonRenderer.Render(view);
        SqliteConnection.ClearAllPools();

        Assert.DoesNotContain(Secret, html, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, json, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("HTTP 500: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; for ***", html);
        Assert.Equal("HTTP 500: <script>alert('x')</script> for ***", view.Initiatives[0].Kpis[0].Reason!.Error);
    }
}
