using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

/// <summary>The reason a KPI is not met, one case per code, through the evaluator (pure: the source's facts are data).</summary>
public class KpiReasonTests
{
    private static readonly DateTimeOffset Now = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset FailingSince = Now.AddMinutes(-42);
    private static readonly SourceState Failing = new(Now.AddSeconds(-15), Now.AddMinutes(-43), FailingSince, "HTTP 500 Internal Server Error, expected 2xx");
    private static readonly SourceState Healthy = new(Now.AddSeconds(-15), Now.AddSeconds(-15), null, null);

    /// <summary>min (not a budget KPI) of up over <paramref name="window"/>, so a value below the target misses outright.</summary>
    private static KpiConfig Kpi(string target = ">= 0.99", TimeSpan? window = null, DateOnly? deadline = null, Baseline? baseline = null)
    {
        Assert.True(Target.TryParse(target, out var t), $"test setup: target \"{target}\" must parse");
        return new KpiConfig("uptime", "System uptime", "storefront", "up", [], Aggregate.Min, Window.OfDuration(window ?? TimeSpan.FromHours(1)), t, baseline, deadline, "ratio");
    }

    /// <summary>One sample every 15 s over the last hour, the first an hour ago: a 1h window is wholly observed.</summary>
    private static KpiSamples LastHour(params double[] values)
    {
        var start = Now.AddHours(-1).ToUnixTimeMilliseconds();
        var step = values.Length > 1 ? 3_600_000L / (values.Length - 1) : 0;
        return new KpiSamples(values.Select((v, i) => new Point(start + (i * step), v)).ToList(), []);
    }

    private static KpiEvaluation Evaluate(KpiConfig kpi, KpiSamples samples, SourceState? source, double? baseline = null) =>
        KpiEvaluator.Evaluate("shop", kpi, samples, Now, TimeZoneInfo.Utc, baseline, trend: null, source: source);

    [Fact]
    public void Of_Met_HasNoReason()
    {
        var result = Evaluate(Kpi(), LastHour(1, 1, 1), Healthy);

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.Null(result.Reason);
    }

    [Fact]
    public void Of_SourceFailing_SaysSinceWhenAndTheLastErrorAndHowFarTheOldValueMisses()
    {
        var result = Evaluate(Kpi(), LastHour(1, 0.75, 1), Failing);

        Assert.Equal(KpiStatus.Missed, result.Status);
        var reason = Assert.IsType<KpiReason>(result.Reason);
        Assert.Equal(KpiReasonCode.SourceFailing, reason.Code);
        Assert.Equal(FailingSince, reason.Since);
        Assert.Equal("HTTP 500 Internal Server Error, expected 2xx", reason.Error);
        Assert.Equal(0.99 - 0.75, reason.Shortfall!.Value, 1e-12);
    }

    [Fact]
    public void Of_SourceFailingAndNoSample_IsSourceFailingNotNoData()
    {
        var result = Evaluate(Kpi(), new KpiSamples([], []), Failing);

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.Equal(KpiReasonCode.SourceFailing, result.Reason!.Code);
        Assert.Null(result.Reason.Shortfall);
    }

    [Fact]
    public void Of_NoSampleWhileTheSourceSucceeds_IsNoData()
    {
        var result = Evaluate(Kpi(), new KpiSamples([], []), Healthy);

        Assert.Equal(new KpiReason(KpiReasonCode.NoData), result.Reason);
    }

    [Fact]
    public void Of_NeverPolledSource_IsNoData()
    {
        var result = Evaluate(Kpi(), new KpiSamples([], []), source: null);

        Assert.Equal(KpiReasonCode.NoData, result.Reason!.Code);
    }

    [Fact]
    public void Of_RelativeTargetWithoutBaselineValue_IsBaselinePending()
    {
        var kpi = Kpi("<= baseline - 20%", baseline: new Baseline(null, new DateOnly(2027, 2, 1), new DateOnly(2027, 2, 28)));

        var result = Evaluate(kpi, LastHour(0.3, 0.3), Healthy, baseline: null);

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.Equal(new KpiReason(KpiReasonCode.BaselinePending), result.Reason);
    }

    [Fact]
    public void Of_WindowBarelyObserved_IsLowCoverageWithTheShortfallSoFar()
    {
        // An hour of a 30-day window: 0.14% observed, far under the threshold.
        var result = Evaluate(Kpi(window: TimeSpan.FromDays(30)), LastHour(1, 0.9), Healthy);

        Assert.True(result.Coverage < KpiReasons.LowCoverage, $"coverage {result.Coverage}");
        Assert.Equal(KpiReasonCode.LowCoverage, result.Reason!.Code);
        Assert.Equal(0.09, result.Reason.Shortfall!.Value, 1e-12);
    }

    [Fact]
    public void Of_WindowObservedJustOverTheThreshold_IsNotLowCoverage()
    {
        // The first sample 8 of 24 hours ago: a third of a 1-day window.
        var start = Now.AddHours(-8).ToUnixTimeMilliseconds();
        var samples = new KpiSamples([new Point(start, 0.9), new Point(Now.ToUnixTimeMilliseconds(), 0.9)], []);

        var result = Evaluate(Kpi(window: TimeSpan.FromDays(1)), samples, Healthy);

        Assert.True(result.Coverage > KpiReasons.LowCoverage, $"coverage {result.Coverage}");
        Assert.Equal(KpiReasonCode.MissesTarget, result.Reason!.Code);
    }

    [Fact]
    public void Of_DeadlineAheadAndNoTrend_IsShortHistory()
    {
        var result = Evaluate(Kpi(deadline: new DateOnly(2027, 3, 31)), LastHour(0.9, 0.95), Healthy);

        Assert.Equal(KpiStatus.AtRisk, result.Status);
        Assert.Equal(KpiReasonCode.ShortHistory, result.Reason!.Code);
        Assert.Equal(0.09, result.Reason.Shortfall!.Value, 1e-12);
    }

    [Fact]
    public void Of_DeadlinePassed_IsMissesTargetNotShortHistory()
    {
        var result = Evaluate(Kpi(deadline: new DateOnly(2027, 2, 28)), LastHour(0.9, 0.95), Healthy);

        Assert.Equal(KpiStatus.Missed, result.Status);
        Assert.Equal(KpiReasonCode.MissesTarget, result.Reason!.Code);
    }

    [Fact]
    public void Of_ValueMissesWithWholeWindowAndRecoveredSource_IsMissesTargetByHowMuch()
    {
        var recovered = Healthy with { LastSuccess = Now.AddSeconds(-15) };

        var result = Evaluate(Kpi("<= 0.3"), LastHour(0.5, 0.42), recovered);

        Assert.Equal(KpiStatus.Missed, result.Status);
        Assert.Equal(KpiReasonCode.MissesTarget, result.Reason!.Code);
        // min of 0.5 and 0.42 is 0.42: 0.12 above "<= 0.3".
        Assert.Equal(0.12, result.Reason.Shortfall!.Value, 1e-12);
        Assert.Null(result.Reason.Since);
        Assert.Null(result.Reason.Error);
    }

    [Theory]
    [InlineData(Comparison.GreaterOrEqual, 0.9, 0.99, 0.09)]
    [InlineData(Comparison.Greater, 0.99, 0.99, 0.0)]
    [InlineData(Comparison.LessOrEqual, 0.5, 0.3, 0.2)]
    [InlineData(Comparison.Less, 0.3, 0.3, 0.0)]
    [InlineData(Comparison.Equal, 198, 200, 2)]
    [InlineData(Comparison.Equal, 503, 200, 303)]
    public void Shortfall_Missed_IsTheDistanceToTheTarget(Comparison op, double value, double target, double expected)
    {
        Assert.Equal(expected, KpiReasons.Shortfall(op, value, target)!.Value, 1e-12);
    }

    [Theory]
    [InlineData(Comparison.GreaterOrEqual, 0.995, 0.99)]
    [InlineData(Comparison.LessOrEqual, 0.2, 0.3)]
    [InlineData(Comparison.Equal, 200, 200)]
    public void Shortfall_Met_IsNull(Comparison op, double value, double target)
    {
        Assert.Null(KpiReasons.Shortfall(op, value, target));
    }

    [Fact]
    public void Label_EveryCode_IsDistinctSnakeCase()
    {
        var labels = Enum.GetValues<KpiReasonCode>().Select(c => c.Label()).ToList();

        Assert.Equal(["source_failing", "no_data", "baseline_pending", "low_coverage", "short_history", "misses_target"], labels);
    }
}
