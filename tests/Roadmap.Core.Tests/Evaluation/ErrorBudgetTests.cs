using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class ErrorBudgetTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<Comparison, double, double, double> Budgets => new()
    {
        // 99.95% against 99.9%: half of the 0.1% budget is spent.
        { Comparison.GreaterOrEqual, 0.9995, 0.999, 0.5 },
        // Exactly at the target: all spent.
        { Comparison.GreaterOrEqual, 0.999, 0.999, 0 },
        // 0.2% down against a 0.1% budget: overspent by a whole budget.
        { Comparison.GreaterOrEqual, 0.998, 0.999, -1 },
        // Never down: untouched.
        { Comparison.GreaterOrEqual, 1.0, 0.999, 1 },
        { Comparison.GreaterOrEqual, 0.0, 0.999, -999 },
        { Comparison.GreaterOrEqual, 0.99, 0.9, 0.9 },
        { Comparison.GreaterOrEqual, 0.95, 0.9, 0.5 },
        { Comparison.Greater, 0.9995, 0.999, 0.5 },
    };

    [Theory]
    [MemberData(nameof(Budgets))]
    public void Remaining_RatioObjective_IsOneMinusSpentShareOfBudget(Comparison op, double value, double target, double expected)
    {
        var remaining = ErrorBudget.Remaining(op, value, target);

        Assert.NotNull(remaining);
        Assert.Equal(expected, remaining.Value, 1e-9);
    }

    public static TheoryData<string, Comparison, double?, double?> NotABudget => new()
    {
        { "<= target", Comparison.LessOrEqual, 0.5, 0.9 },
        { "< target", Comparison.Less, 0.5, 0.9 },
        { "== target", Comparison.Equal, 0.9, 0.9 },
        { "target of 1", Comparison.GreaterOrEqual, 1.0, 1.0 },
        { "target above 1", Comparison.GreaterOrEqual, 2.0, 1.5 },
        { "count target", Comparison.GreaterOrEqual, 120, 100 },
        { "value above 1", Comparison.GreaterOrEqual, 1.2, 0.9 },
        { "negative value", Comparison.GreaterOrEqual, -0.1, 0.9 },
        { "no value", Comparison.GreaterOrEqual, null, 0.999 },
        { "no target", Comparison.GreaterOrEqual, 0.9995, null },
    };

    [Theory]
    [MemberData(nameof(NotABudget))]
    public void Remaining_NotARatioObjective_IsNull(string scenario, Comparison op, double? value, double? target)
    {
        Assert.True(scenario.Length > 0);

        Assert.Null(ErrorBudget.Remaining(op, value, target));
    }

    private static KpiConfig Kpi(string target, Baseline? baseline = null)
    {
        Assert.True(Target.TryParse(target, out var t), $"test setup: target \"{target}\" must parse");
        return new KpiConfig("uptime", "System uptime", "storefront", "up", [], Aggregate.Avg, Window.OfDuration(TimeSpan.FromDays(30)), t, baseline, null, "ratio");
    }

    private static KpiSamples Samples(params double[] values) =>
        new(values.Select((v, i) => new Point(Now.AddMinutes(-i).ToUnixTimeMilliseconds(), v)).ToList(), []);

    [Fact]
    public void Evaluate_AvailabilityAt99Point95AgainstThreeNines_IsMetWithHalfTheBudgetLeft()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 99.9%"), Samples(0.9995), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.True(result.Met);
        Assert.Equal(0.999, result.Target);
        Assert.NotNull(result.ErrorBudgetRemaining);
        Assert.Equal(0.5, result.ErrorBudgetRemaining.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_AvailabilityFromUpSamples_BudgetFollowsTheDowntime()
    {
        // 2,000 probes, one failed: 99.95% up.
        var probes = Enumerable.Repeat(1.0, 1999).Append(0.0).ToArray();

        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 99.9%"), Samples(probes), Now, TimeZoneInfo.Utc);

        Assert.Equal(0.9995, result.Value!.Value, 1e-12);
        Assert.Equal(0.5, result.ErrorBudgetRemaining!.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_AvailabilityBelowTarget_IsMissedWithBudgetOverspent()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 99.9%"), Samples(0.998), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Missed, result.Status);
        Assert.Equal(-1.0, result.ErrorBudgetRemaining!.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_LatencyKpiWithUpperBound_HasNoErrorBudget()
    {
        var result = KpiEvaluator.Evaluate("frontend", Kpi("<= 0.5"), Samples(0.3), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.Null(result.ErrorBudgetRemaining);
    }

    [Fact]
    public void Evaluate_NoData_HasNoErrorBudget()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 99.9%"), Samples(), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.Null(result.ErrorBudgetRemaining);
    }
}
