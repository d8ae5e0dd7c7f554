using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class InitiativeHealthTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo LosAngeles = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");

    /// <summary>2026-Q4: started before <see cref="Now"/>.</summary>
    private static readonly Timeline Q4 = new(new DateOnly(2026, 10, 1), new DateOnly(2026, 12, 31), "2026-Q4");

    private static InitiativeConfig Initiative(string id, DeclaredStatus status, string[]? dependsOn = null, Timeline? timeline = null) =>
        new(id, id, null, timeline, status, null, null, dependsOn ?? [], [], []);

    private static RoadmapConfig Config(TimeZoneInfo zone, params InitiativeConfig[] initiatives) =>
        new("t.yaml", new RoadmapInfo("R", null, []), new SettingsConfig(TimeSpan.FromSeconds(15), zone), [], initiatives);

    private static RoadmapConfig Config(params InitiativeConfig[] initiatives) => Config(TimeZoneInfo.Utc, initiatives);

    private static KpiEvaluation Kpi(string id, KpiStatus status) =>
        new("i", id, Now, status == KpiStatus.NoData ? null : 1.0, 1.0, status == KpiStatus.Met, status, null, 1, "test");

    private static KpiEvaluation[] Kpis(params KpiStatus[] statuses) =>
        statuses.Select((s, i) => Kpi($"k{i}", s)).ToArray();

    public static TheoryData<KpiStatus[], Health> WorstStatus => new()
    {
        { [KpiStatus.Met], Health.Achieved },
        { [KpiStatus.Met, KpiStatus.Met, KpiStatus.Met], Health.Achieved },
        { [KpiStatus.Met, KpiStatus.OnTrack], Health.OnTrack },
        { [KpiStatus.OnTrack, KpiStatus.OnTrack], Health.OnTrack },
        { [KpiStatus.Met, KpiStatus.NoData], Health.NoData },
        { [KpiStatus.OnTrack, KpiStatus.NoData, KpiStatus.Met], Health.NoData },
        { [KpiStatus.NoData, KpiStatus.AtRisk], Health.AtRisk },
        { [KpiStatus.Met, KpiStatus.OnTrack, KpiStatus.AtRisk], Health.AtRisk },
        { [KpiStatus.AtRisk, KpiStatus.Missed, KpiStatus.Met], Health.Missed },
        { [KpiStatus.Missed, KpiStatus.NoData], Health.Missed },
        { [KpiStatus.Met, KpiStatus.Missed], Health.Missed },
        { [], Health.NoData },
    };

    [Theory]
    [MemberData(nameof(WorstStatus))]
    public void Evaluate_InProgressAfterStart_IsTheWorstKpiStatus(KpiStatus[] statuses, Health expected)
    {
        var initiative = Initiative("frontend", DeclaredStatus.InProgress, timeline: Q4);

        var result = InitiativeHealth.Evaluate(Config(initiative), initiative, Kpis(statuses), Now);

        Assert.Equal(expected, result.Health);
        Assert.Equal("frontend", result.Initiative);
        Assert.Equal(statuses.Length, result.Kpis);
        Assert.Equal(statuses.Count(s => s == KpiStatus.Met), result.KpisMet);
        Assert.False(result.Blocked);
    }

    [Theory]
    [InlineData(DeclaredStatus.Done, Health.Done)]
    [InlineData(DeclaredStatus.Cancelled, Health.Cancelled)]
    public void Evaluate_DeclaredDoneOrCancelled_WinsOverKpisAndTimeline(DeclaredStatus declared, Health expected)
    {
        // Missed KPIs, and a timeline that has not even started: the declaration still wins.
        var future = new Timeline(new DateOnly(2027, 7, 1), new DateOnly(2027, 9, 30), "2027-Q3");
        var initiative = Initiative("frontend", declared, timeline: future);

        var result = InitiativeHealth.Evaluate(Config(initiative), initiative, Kpis(KpiStatus.Missed, KpiStatus.Met), Now);

        Assert.Equal(expected, result.Health);
        Assert.Equal(2, result.Kpis);
        Assert.Equal(1, result.KpisMet);
    }

    [Theory]
    [InlineData(DeclaredStatus.Planned)]
    [InlineData(DeclaredStatus.InProgress)]
    public void Evaluate_BeforeTimelineStartInRoadmapZone_IsPlanned(DeclaredStatus declared)
    {
        // 2027-01-01 starts at 08:00Z in Los Angeles (PST, -08:00); 07:59:59Z is still New Year's Eve there.
        var q1 = new Timeline(new DateOnly(2027, 1, 1), new DateOnly(2027, 3, 31), "2027-Q1");
        var initiative = Initiative("cloud-migration", declared, timeline: q1);
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 1, 1, 7, 59, 59, TimeSpan.Zero));
        var config = Config(LosAngeles, initiative);

        var before = InitiativeHealth.Evaluate(config, initiative, Kpis(KpiStatus.Missed), time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(1));
        var atStart = InitiativeHealth.Evaluate(config, initiative, Kpis(KpiStatus.Missed), time.GetUtcNow());

        Assert.Equal(Health.Planned, before.Health);
        Assert.Equal(Health.Missed, atStart.Health);
    }

    [Fact]
    public void Evaluate_AfterUtcStartButBeforeZoneStart_IsStillPlanned()
    {
        // In UTC the quarter has begun; in Los Angeles it has not.
        var q1 = new Timeline(new DateOnly(2027, 1, 1), new DateOnly(2027, 3, 31), "2027-Q1");
        var initiative = Initiative("cloud-migration", DeclaredStatus.InProgress, timeline: q1);
        var at = new DateTimeOffset(2027, 1, 1, 3, 0, 0, TimeSpan.Zero);

        var inUtc = InitiativeHealth.Evaluate(Config(TimeZoneInfo.Utc, initiative), initiative, Kpis(KpiStatus.Met), at);
        var inLosAngeles = InitiativeHealth.Evaluate(Config(LosAngeles, initiative), initiative, Kpis(KpiStatus.Met), at);

        Assert.Equal(Health.Achieved, inUtc.Health);
        Assert.Equal(Health.Planned, inLosAngeles.Health);
    }

    [Fact]
    public void Evaluate_DeclaredPlannedWithoutTimeline_IsJudgedByItsKpis()
    {
        var initiative = Initiative("security", DeclaredStatus.Planned);

        var result = InitiativeHealth.Evaluate(Config(initiative), initiative, Kpis(KpiStatus.AtRisk), Now);

        Assert.Equal(Health.AtRisk, result.Health);
        Assert.False(result.Blocked);
    }

    [Theory]
    [InlineData(DeclaredStatus.Done, false)]
    [InlineData(DeclaredStatus.InProgress, true)]
    [InlineData(DeclaredStatus.Planned, true)]
    [InlineData(DeclaredStatus.Cancelled, true)]
    public void Evaluate_InProgressWithOneDependency_IsBlockedUnlessTheDependencyIsDone(DeclaredStatus dependency, bool blocked)
    {
        var db = Initiative("db-optimization", dependency, timeline: Q4);
        var migration = Initiative("cloud-migration", DeclaredStatus.InProgress, ["db-optimization"], Q4);

        var result = InitiativeHealth.Evaluate(Config(db, migration), migration, Kpis(KpiStatus.Met), Now);

        Assert.Equal(blocked, result.Blocked);
        Assert.Equal(blocked ? ["db-optimization"] : Array.Empty<string>(), result.BlockedBy);
        // Blocked is a separate flag: the health still comes from the KPIs.
        Assert.Equal(Health.Achieved, result.Health);
    }

    [Theory]
    [InlineData(DeclaredStatus.Planned)]
    [InlineData(DeclaredStatus.Done)]
    [InlineData(DeclaredStatus.Cancelled)]
    public void Evaluate_NotInProgressWithDependencyNotDone_IsNotBlocked(DeclaredStatus declared)
    {
        var db = Initiative("db-optimization", DeclaredStatus.InProgress, timeline: Q4);
        var migration = Initiative("cloud-migration", declared, ["db-optimization"], Q4);

        var result = InitiativeHealth.Evaluate(Config(db, migration), migration, Kpis(KpiStatus.Met), Now);

        Assert.False(result.Blocked);
        Assert.Empty(result.BlockedBy);
    }

    [Fact]
    public void Evaluate_InProgressWithoutDependencies_IsNotBlocked()
    {
        var initiative = Initiative("frontend", DeclaredStatus.InProgress, timeline: Q4);

        var result = InitiativeHealth.Evaluate(Config(initiative), initiative, Kpis(KpiStatus.Met), Now);

        Assert.False(result.Blocked);
        Assert.Empty(result.BlockedBy);
    }

    [Fact]
    public void Evaluate_SeveralDependencies_BlockedByListsExactlyTheNotDoneOnesInOrder()
    {
        var a = Initiative("a", DeclaredStatus.InProgress, ["b", "c", "d", "e"], Q4);
        var b = Initiative("b", DeclaredStatus.Planned);
        var c = Initiative("c", DeclaredStatus.Done);
        var d = Initiative("d", DeclaredStatus.InProgress);
        var e = Initiative("e", DeclaredStatus.Done);

        var result = InitiativeHealth.Evaluate(Config(a, b, c, d, e), a, [], Now);

        Assert.True(result.Blocked);
        Assert.Equal(["b", "d"], result.BlockedBy);
        Assert.Equal(Health.NoData, result.Health);
    }

    /// <summary>a depends on b, b depends on c; each row declares the three statuses and the expected blocked sets.</summary>
    public static TheoryData<DeclaredStatus, DeclaredStatus, DeclaredStatus, string[], string[], string[]> Chains => new()
    {
        // All in progress: each is blocked by its direct dependency only, not by the one further down.
        { DeclaredStatus.InProgress, DeclaredStatus.InProgress, DeclaredStatus.InProgress, ["b"], ["c"], [] },
        // c done: b is free, a still waits for b.
        { DeclaredStatus.InProgress, DeclaredStatus.InProgress, DeclaredStatus.Done, ["b"], [], [] },
        // b declared done although c is not: a's direct dependency is done, so a is free; b is done, not blocked.
        { DeclaredStatus.InProgress, DeclaredStatus.Done, DeclaredStatus.InProgress, [], [], [] },
        // b and c done: nothing is blocked.
        { DeclaredStatus.InProgress, DeclaredStatus.Done, DeclaredStatus.Done, [], [], [] },
        // b only planned: it is not blocked (not in progress), but it blocks a.
        { DeclaredStatus.InProgress, DeclaredStatus.Planned, DeclaredStatus.InProgress, ["b"], [], [] },
        // a only planned: never blocked, whatever its dependencies.
        { DeclaredStatus.Planned, DeclaredStatus.InProgress, DeclaredStatus.Planned, [], ["c"], [] },
        // b cancelled: a cannot finish on it, so a stays blocked.
        { DeclaredStatus.InProgress, DeclaredStatus.Cancelled, DeclaredStatus.Done, ["b"], [], [] },
    };

    [Theory]
    [MemberData(nameof(Chains))]
    public void Evaluate_ChainOfDependencies_BlocksOnDirectDependenciesNotDone(
        DeclaredStatus aStatus, DeclaredStatus bStatus, DeclaredStatus cStatus, string[] aBlockedBy, string[] bBlockedBy, string[] cBlockedBy)
    {
        var a = Initiative("a", aStatus, ["b"], Q4);
        var b = Initiative("b", bStatus, ["c"], Q4);
        var c = Initiative("c", cStatus, timeline: Q4);
        var config = Config(a, b, c);

        var results = new[] { a, b, c }.Select(i => InitiativeHealth.Evaluate(config, i, Kpis(KpiStatus.OnTrack), Now)).ToArray();

        Assert.Equal(aBlockedBy, results[0].BlockedBy);
        Assert.Equal(bBlockedBy, results[1].BlockedBy);
        Assert.Equal(cBlockedBy, results[2].BlockedBy);
        Assert.Equal(aBlockedBy.Length > 0, results[0].Blocked);
        Assert.Equal(bBlockedBy.Length > 0, results[1].Blocked);
        Assert.Equal(cBlockedBy.Length > 0, results[2].Blocked);
    }

    [Theory]
    [InlineData(Health.Planned, "planned")]
    [InlineData(Health.NoData, "no_data")]
    [InlineData(Health.Achieved, "achieved")]
    [InlineData(Health.OnTrack, "on_track")]
    [InlineData(Health.AtRisk, "at_risk")]
    [InlineData(Health.Missed, "missed")]
    [InlineData(Health.Done, "done")]
    [InlineData(Health.Cancelled, "cancelled")]
    public void Label_Health_ReturnsMetricLabelValue(Health health, string expected)
    {
        Assert.Equal(expected, health.Label());
    }

    [Fact]
    public void All_Healths_HaveDistinctLabels()
    {
        Assert.Equal(8, InitiativeHealth.All.Count);
        Assert.Equal(8, InitiativeHealth.All.Select(h => h.Label()).Distinct().Count());
    }
}
