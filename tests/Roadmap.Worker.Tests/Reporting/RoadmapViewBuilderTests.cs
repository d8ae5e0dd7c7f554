using Roadmap.Core.Evaluation;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

public sealed class RoadmapViewBuilderTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Build_EmptySnapshot_KeepsTheConfigAndLeavesEveryJudgementUnknown()
    {
        var view = RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty);

        Assert.Null(view.EvaluatedAt);
        Assert.Equal(["cloud", "db-perf", "security"], view.Initiatives.Select(i => i.Id));
        var cloud = view.FindInitiative("cloud")!;
        Assert.Null(cloud.Health);
        Assert.False(cloud.Blocked);
        Assert.Equal(new TimelineView("2026-Q4", new DateOnly(2026, 10, 1), new DateOnly(2026, 12, 31)), cloud.Timeline);
        Assert.Equal("in-progress", cloud.DeclaredStatus);
        Assert.Equal([new RiskView("Downtime", "Blue-green cut-over"), new RiskView("Data loss", "Checksums")], cloud.Risks);
        var uptime = cloud.FindKpi("uptime")!;
        Assert.Equal((null, null, null, "not evaluated yet"), (uptime.Status, uptime.Met, uptime.Value, uptime.Note));
        Assert.Equal(0.999, uptime.TargetValue);
        var query = view.FindInitiative("db-perf")!.FindKpi("query-time")!;
        Assert.Equal(new DateTimeOffset(2027, 4, 1, 0, 0, 0, TimeSpan.Zero), query.Deadline);
        Assert.Equal(new DateOnly(2027, 3, 31), query.DeadlineDate);
        Assert.Equal(("latency_seconds", "p95", "1h", "<= 0.05", "seconds"), (query.Signal, query.Aggregate, query.Window, query.Target, query.Unit));
    }

    [Fact]
    public async Task Build_Evaluated_CarriesEveryJudgement()
    {
        var database = await _f.WriteSamplesAsync();

        var view = RoadmapViewBuilder.Build(_f.Config, _f.Evaluation(database).EvaluateAll());

        Assert.Equal(ReportFixture.Now, view.EvaluatedAt);
        var cloud = view.FindInitiative("cloud")!;
        Assert.Equal(("missed", true), (cloud.Health, cloud.Blocked));
        Assert.Equal(["db-perf"], cloud.BlockedBy);
        var uptime = cloud.FindKpi("uptime")!;
        Assert.Equal((1.0, true, "met", 1.0), (uptime.Value, uptime.Met, uptime.Status, uptime.ErrorBudgetRemaining));
        Assert.Equal(("at_risk", 0.1), (view.FindInitiative("db-perf")!.FindKpi("query-time")!.Status, view.FindInitiative("db-perf")!.FindKpi("query-time")!.Value));
        Assert.Equal("planned", view.FindInitiative("security")!.Health);
    }

    [Fact]
    public void Build_NonFiniteNumbers_BecomeNull()
    {
        var kpi = new KpiEvaluation("cloud", "uptime", ReportFixture.Now, double.PositiveInfinity, 0.999, false, KpiStatus.Missed, null, 3, "odd", double.NaN, double.NegativeInfinity);
        var snapshot = new RoadmapSnapshot(ReportFixture.Now, [kpi], []);

        var uptime = RoadmapViewBuilder.Build(_f.Config, snapshot).FindInitiative("cloud")!.FindKpi("uptime")!;

        Assert.Equal((null, null, null, "missed"), (uptime.Value, uptime.Forecast, uptime.ErrorBudgetRemaining, uptime.Status));
    }
}
