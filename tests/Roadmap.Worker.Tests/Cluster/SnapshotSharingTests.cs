using Roadmap.Core.Evaluation;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Evaluation;

namespace Roadmap.Worker.Tests.Cluster;

public sealed class SnapshotSharingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Serialize_ThenDeserialize_KeepsEveryFieldIncludingNaNAndInfinity()
    {
        var kpi = new KpiEvaluation("cloud", "uptime", Now, double.NaN, double.PositiveInfinity, false, KpiStatus.AtRisk, Now.AddDays(30), 42, "note",
            Forecast: 0.5, ErrorBudgetRemaining: -0.25, Baseline: 3, Coverage: 0.75, WindowLength: TimeSpan.FromDays(30),
            BurnRates: [new BurnRate("5m", TimeSpan.FromMinutes(5), 14.4)], ForecastLower: 0.1, ForecastUpper: 0.9, ForecastProbability: 0.3)
        {
            Reason = new KpiReason(KpiReasonCode.SourceFailing, Shortfall: 0.01, Since: Now.AddHours(-1), Error: "timeout"),
        };
        var snapshot = new RoadmapSnapshot(Now, [kpi], [new InitiativeEvaluation("cloud", Health.AtRisk, true, ["db"], 1, 0)]);

        var back = SnapshotSharing.Deserialize(SnapshotSharing.Serialize(snapshot))!;

        Assert.Equal(Now, back.At);
        var k = Assert.Single(back.Kpis);
        // Records compare lists by reference, so compare field by field where lists are involved.
        Assert.Equal(kpi with { BurnRates = null }, k with { BurnRates = null });
        Assert.Equal(kpi.BurnRates, k.BurnRates);
        var i = Assert.Single(back.Initiatives);
        Assert.Equal(("cloud", Health.AtRisk, true, 1, 0), (i.Initiative, i.Health, i.Blocked, i.Kpis, i.KpisMet));
        Assert.Equal(["db"], i.BlockedBy);
    }
}
