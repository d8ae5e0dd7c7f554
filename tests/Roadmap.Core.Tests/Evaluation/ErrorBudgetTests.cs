using Microsoft.Extensions.Time.Testing;
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

    /// <summary>Samples a minute apart from the start of the 30-day window on: the whole window observed.</summary>
    private static KpiSamples Samples(params double[] values) =>
        new(values.Select((v, i) => new Point(Now.AddDays(-30).AddMinutes(i).ToUnixTimeMilliseconds(), v)).ToList(), []);

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

/// <summary>The budget rules over whole windows (docs/KPI.md#error-budget), scenario by scenario, with probes every 5 s.</summary>
public class ErrorBudgetScenarioTests
{
    private static readonly DateTimeOffset Installed = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(5);

    private static KpiConfig Uptime(Window window, DateOnly? deadline = null)
    {
        Assert.True(Target.TryParse(">= 99.9%", out var t));
        return new KpiConfig("uptime", "Uptime", "storefront", "up", [], Aggregate.Avg, window, t, null, deadline, "ratio");
    }

    /// <summary>
    /// Probes every 5 s from <see cref="Installed"/> for <paramref name="age"/> (the last one 5 s before now), failing
    /// during each (start after install, length) outage. Returns the clock at now and the KPI's samples with every
    /// burn window, as the worker reads them.
    /// </summary>
    private static (FakeTimeProvider Time, KpiSamples Samples) Probes(KpiConfig kpi, TimeSpan age, params (TimeSpan At, TimeSpan For)[] outages)
    {
        var time = new FakeTimeProvider(Installed);
        time.Advance(age - Probe);
        var now = time.GetUtcNow();
        var points = new List<Point>();
        for (var at = Installed; at <= now; at += Probe)
        {
            var down = outages.Any(o => at >= Installed + o.At && at < Installed + o.At + o.For);
            points.Add(new Point(at.ToUnixTimeMilliseconds(), down ? 0 : 1));
        }

        KpiSamples Since(DateTimeOffset from) =>
            new(points.Where(p => p.TimestampMs >= from.ToUnixTimeMilliseconds()).ToList(), []) { SourceInterval = Probe };

        var windows = ErrorBudget.BurnWindows.ToDictionary(w => w.Label, w => Since(now - w.Window));
        var samples = Since(kpi.Window.StartAt(now, TimeZoneInfo.Utc)) with { BurnWindows = windows };
        return (time, samples);
    }

    private static double Burn(KpiEvaluation e, string window) => Assert.Single(e.BurnRates!, b => b.Label == window).Rate;

    [Fact]
    public void Evaluate_FreshInstallWithTwoFailedProbes_IsMetWithAlmostAllTheBudgetLeft()
    {
        // 15 minutes, 180 probes, two failed at minute 3: v = 178/180, coverage 15 min / 30 d.
        var kpi = Uptime(Window.OfDuration(TimeSpan.FromDays(30)));
        var (time, samples) = Probes(kpi, TimeSpan.FromMinutes(15), (TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(10)));

        var e = KpiEvaluator.Evaluate("cloud-migration", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        Assert.Equal(178.0 / 180, e.Value!.Value, 1e-12);
        Assert.Equal(15.0 / (30 * 24 * 60), e.Coverage, 1e-12);
        Assert.Equal(1 - (2.0 / 180 * (15.0 / 43_200) / 0.001), e.ErrorBudgetRemaining!.Value, 1e-9);
        Assert.Equal(0.996, e.ErrorBudgetRemaining!.Value, 1e-3);
        Assert.Equal(KpiStatus.Met, e.Status);
        Assert.False(e.Met); // the value itself is below 99.9%; the budget decides the status
        Assert.Equal("99.6% of the 30d error budget left; 15 min of the window observed", e.Note);
        Assert.Equal(2.778, Burn(e, "1h"), 1e-3);
        Assert.Equal(0.463, Burn(e, "6h"), 1e-3);
        Assert.Equal(5.556, Burn(e, "30m"), 1e-3);
        Assert.Equal(0.0, Burn(e, "5m"), 1e-12); // the failures are 12 minutes old
        Assert.True(Burn(e, "1h") < 14.4 && Burn(e, "6h") < 6, "the blip must not page");
    }

    public static TheoryData<string, string, double, double, double, KpiStatus> Scenarios => new()
    {
        // name, window, install age (h), outage start after install (h) and length (min): expected remaining, status.
        // A blip on a mature 1d KPI: 2 of 17,280 probes; 1 - (2/17280)/0.001.
        { "blip on a full 1d window", "1d", 48, 47.5, 10.0 / 60, KpiStatus.Met },
        // A real outage: 10 minutes of a full 1h window: 1 - (120/720)/0.001 = -165.7.
        { "10-minute outage on 1h", "1h", 2, 2 - (10.0 / 60), 10, KpiStatus.Missed },
        // 30 minutes down 36 h ago: out of the 1d window, so the whole budget is back.
        { "1d window slid past an old outage", "1d", 48, 12, 30, KpiStatus.Met },
        // The same outage 12 h ago: inside the window, 1 - (360/17280)/0.001 = -19.8.
        { "1d window still holding the outage", "1d", 48, 36, 30, KpiStatus.Missed },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Evaluate_Scenario_BudgetAndStatusFollowTheWholeWindow(string scenario, string window, double ageHours, double outageAtHours, double outageMinutes, KpiStatus expected)
    {
        Assert.True(Window.TryParse(window, out var w), scenario);
        var kpi = Uptime(w);
        var (time, samples) = Probes(kpi, TimeSpan.FromHours(ageHours), (TimeSpan.FromHours(outageAtHours), TimeSpan.FromMinutes(outageMinutes)));

        var e = KpiEvaluator.Evaluate("cloud-migration", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        // Budget = bad time observed in the window ÷ (window × 0.1%); the window is fully observed in each scenario.
        var windowStart = time.GetUtcNow() - w.Rolling!.Value;
        var outageStart = Installed + TimeSpan.FromHours(outageAtHours);
        var bad = outageStart >= windowStart ? TimeSpan.FromMinutes(outageMinutes) : TimeSpan.Zero;
        Assert.Equal(1.0, e.Coverage, 1e-12);
        // Within 0.2%: an inclusive window on a 5-s grid holds one probe more than window ÷ 5 s.
        var want = 1 - (bad / (w.Rolling!.Value * 0.001));
        Assert.Equal(want, e.ErrorBudgetRemaining!.Value, (Math.Abs(want) * 0.002) + 1e-4);
        Assert.Equal(expected, e.Status);
    }

    [Fact]
    public void Evaluate_TenMinuteOutageOnOneHourKpi_BurnsAbove14Point4OnBothPagingWindows()
    {
        // Down for the last 10 minutes of a 2-hour-old install: burn(1h) = 600 s / 3.6 s, burn(5m) = 300 s / 0.3 s.
        var kpi = Uptime(Window.OfDuration(TimeSpan.FromHours(1)));
        var (time, samples) = Probes(kpi, TimeSpan.FromHours(2), (TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(10)));

        var e = KpiEvaluator.Evaluate("cloud-migration", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        Assert.Equal(166.7, Burn(e, "1h"), 0.5); // 120 of 721 probes: the inclusive window holds one extra
        Assert.Equal(1000, Burn(e, "5m"), 0.1);
        Assert.Equal(KpiStatus.Missed, e.Status);
        Assert.StartsWith("the 1h error budget is spent (-16543.6% left)", e.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_DeadlinePassedUnmetWithBudgetLeft_IsMissed()
    {
        // The fresh-install blip, but the KPI had to hold 99.9% by yesterday: the value itself is the verdict.
        var kpi = Uptime(Window.OfDuration(TimeSpan.FromDays(30)), deadline: DateOnly.FromDateTime(Installed.AddDays(-1).UtcDateTime));
        var (time, samples) = Probes(kpi, TimeSpan.FromMinutes(15), (TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(10)));

        var e = KpiEvaluator.Evaluate("cloud-migration", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        Assert.True(e.ErrorBudgetRemaining > 0.99);
        Assert.Equal(KpiStatus.Missed, e.Status);
    }

    [Fact]
    public void Evaluate_RatioKpiOneDayIntoThirtyDays_SpendsBadEventsOverTheWindowsExpectedEvents()
    {
        // 10,000 requests a day, 30 failed, one day into a 30-day ">= 99%" window: 30 bad of the 0.01 × 300,000 = 3,000
        // the window allows: 1% spent.
        Assert.True(Target.TryParse(">= 99%", out var t));
        var kpi = new KpiConfig("success", "Success", "api", "ok", ["total"], Aggregate.Ratio, Window.OfDuration(TimeSpan.FromDays(30)), t, null, null, "ratio");
        var time = new FakeTimeProvider(Installed);
        time.Advance(TimeSpan.FromDays(1));
        var hours = Enumerable.Range(1, 24).Select(h => Installed.AddHours(h).ToUnixTimeMilliseconds()).ToList();
        var ok = hours.Select((ts, i) => new Point(ts, i < 6 ? 10_000.0 / 24 - 5 : 10_000.0 / 24)).ToList();
        var total = hours.Select(ts => new Point(ts, 10_000.0 / 24)).ToList();
        var samples = new KpiSamples(ok, total) { SourceInterval = TimeSpan.FromHours(1) };

        var e = KpiEvaluator.Evaluate("shop", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        Assert.Equal(0.997, e.Value!.Value, 1e-12);
        Assert.Equal(1.0 / 30, e.Coverage, 1e-12);
        Assert.Equal(0.99, e.ErrorBudgetRemaining!.Value, 1e-9);
        Assert.Equal(KpiStatus.Met, e.Status);
    }

    [Fact]
    public void Evaluate_KpiMdCacheRatioInTheFirstThreeMinutesOfAnHour_IsMetWithItsShareSpent()
    {
        // docs/KPI.md example 4b: hits 90, 80, 95 and misses 10, 20, 5, polled every minute from the window's start:
        // 265 / 300 = 0.8833 against ">= 0.9", coverage 3 / 60: 1 - 0.1167 × 0.05 / 0.1 = 0.9417.
        Assert.True(Target.TryParse(">= 0.9", out var t));
        var kpi = new KpiConfig("cache", "Cache", "cache", "hits", ["hits", "misses"], Aggregate.Ratio, Window.OfDuration(TimeSpan.FromHours(1)), t, null, null, "ratio");
        var time = new FakeTimeProvider(Installed);
        time.Advance(TimeSpan.FromMinutes(3));
        long At(int minute) => Installed.AddMinutes(minute).ToUnixTimeMilliseconds();
        var hits = new List<Point> { new(At(1), 90), new(At(2), 80), new(At(3), 95) };
        var misses = new List<Point> { new(At(1), 10), new(At(2), 20), new(At(3), 5) };
        var samples = new KpiSamples(hits, [.. hits, .. misses]) { SourceInterval = TimeSpan.FromMinutes(1) };

        var e = KpiEvaluator.Evaluate("shop", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        Assert.Equal(265.0 / 300, e.Value!.Value, 1e-12);
        Assert.Equal(0.05, e.Coverage, 1e-12);
        Assert.Equal(0.9417, e.ErrorBudgetRemaining!.Value, 1e-4);
        Assert.Equal(KpiStatus.Met, e.Status);
    }

    [Fact]
    public void Evaluate_AvgOfAGaugeBetweenZeroAndOne_IsNotABudgetKpi()
    {
        // A hit ratio polled every minute, averaged: not a share of good time, so no budget and today's rules.
        Assert.True(Target.TryParse(">= 0.9", out var t));
        var kpi = new KpiConfig("hits", "Hits", "cache", "hit_ratio", [], Aggregate.Avg, Window.OfDuration(TimeSpan.FromDays(30)), t, null, null, "ratio");
        var now = Installed.AddMinutes(15);
        var samples = new KpiSamples([new Point(Installed.ToUnixTimeMilliseconds(), 0.8)], []);

        var e = KpiEvaluator.Evaluate("shop", kpi, samples, now, TimeZoneInfo.Utc);

        Assert.Null(e.ErrorBudgetRemaining);
        Assert.Empty(e.BurnRates!);
        Assert.Equal(KpiStatus.Missed, e.Status);
    }
}
