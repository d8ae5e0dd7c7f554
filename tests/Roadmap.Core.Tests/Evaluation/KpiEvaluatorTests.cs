using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class KpiEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateOnly Deadline = new(2027, 3, 31);

    private static KpiConfig Kpi(string target, DateOnly? deadline = null, Baseline? baseline = null, Aggregate aggregate = Aggregate.Avg)
    {
        Assert.True(Target.TryParse(target, out var t), $"test setup: target \"{target}\" must parse");
        return new KpiConfig("uptime", "System uptime", "storefront", "up", [], aggregate, Window.OfDuration(TimeSpan.FromDays(30)), t, baseline, deadline, "ratio");
    }

    private static KpiSamples Samples(params double[] values)
    {
        var start = Now.AddHours(-1).ToUnixTimeMilliseconds();
        return new KpiSamples(values.Select((v, i) => new Point(start + (i * 15_000L), v)).ToList(), []);
    }

    [Fact]
    public void Evaluate_ValueSatisfiesTarget_IsMet()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 0.99"), Samples(1, 1, 0.98, 1), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.True(result.Met);
        Assert.Equal(0.995, result.Value!.Value, 1e-12);
        Assert.Equal(0.99, result.Target);
        Assert.Equal(4, result.Samples);
        Assert.Equal("cloud-migration", result.Initiative);
        Assert.Equal("uptime", result.Kpi);
        Assert.Equal(Now, result.At);
        Assert.Null(result.Deadline);
        // The avg of up against ">= 0.99" is a budget KPI: 4 samples over the last hour of its 30 days.
        Assert.Equal("99.9% of the 30d error budget left; 60 min of the window observed", result.Note);
    }

    [Fact]
    public void Evaluate_NotMetWithoutDeadline_IsMissed()
    {
        // min, not avg: not a budget KPI, so any value below the target misses.
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 0.99", aggregate: Aggregate.Min), Samples(1, 0.75, 1, 1), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Missed, result.Status);
        Assert.False(result.Met);
        Assert.Equal(0.75, result.Value);
        Assert.Equal(0.99, result.Target);
        Assert.Null(result.Deadline);
    }

    [Fact]
    public void Evaluate_NotMetWithDeadlineAhead_IsAtRisk()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi("<= 2", Deadline), Samples(2.5, 2.4), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.AtRisk, result.Status);
        Assert.False(result.Met);
        Assert.Equal(new DateTimeOffset(2027, 4, 1, 0, 0, 0, TimeSpan.Zero), result.Deadline);
    }

    [Fact]
    public void Evaluate_NotMetOnceDeadlineDayHasEnded_TurnsFromAtRiskToMissed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 3, 31, 23, 59, 59, TimeSpan.Zero));
        var kpi = Kpi("<= 2", Deadline);
        var samples = Samples(2.5);

        var onLastDay = KpiEvaluator.Evaluate("cloud-migration", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);
        time.Advance(TimeSpan.FromSeconds(1));
        var afterDeadline = KpiEvaluator.Evaluate("cloud-migration", kpi, samples, time.GetUtcNow(), TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.AtRisk, onLastDay.Status);
        Assert.Equal(KpiStatus.Missed, afterDeadline.Status);
        Assert.False(afterDeadline.Met);
        Assert.Equal(new DateTimeOffset(2027, 4, 1, 0, 0, 0, TimeSpan.Zero), afterDeadline.Deadline);
        Assert.Equal("target not met by the deadline 2027-03-31", afterDeadline.Note);
    }

    [Fact]
    public void Evaluate_MetAfterDeadline_IsMet()
    {
        var later = new DateTimeOffset(2027, 6, 1, 0, 0, 0, TimeSpan.Zero);

        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi("<= 2", Deadline), Samples(1.5), later, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.True(result.Met);
    }

    [Fact]
    public void Evaluate_DeadlineInBerlin_EndsAtLocalMidnight()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi("<= 2", Deadline), Samples(2.5), Now, berlin);

        // Berlin is on summer time (+02:00) from 2027-03-28.
        Assert.Equal(new DateTimeOffset(2027, 3, 31, 22, 0, 0, TimeSpan.Zero), result.Deadline);
    }

    [Fact]
    public void Evaluate_EmptyWindow_IsNoData()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 0.99", Deadline), Samples(), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.False(result.Met);
        Assert.Null(result.Value);
        Assert.Equal(0.99, result.Target);
        Assert.Equal(0, result.Samples);
        Assert.Equal(new DateTimeOffset(2027, 4, 1, 0, 0, 0, TimeSpan.Zero), result.Deadline);
        Assert.Equal("no sample of up in the last 30d", result.Note);
    }

    [Fact]
    public void Evaluate_OnlyNaNSamples_IsNoData()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 0.99"), Samples(double.NaN, double.NaN), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.Null(result.Value);
    }

    [Fact]
    public void Evaluate_RelativeTargetWithNumericBaseline_ResolvesTarget()
    {
        var kpi = Kpi("<= baseline - 20%", baseline: new Baseline(2.4, null, null));

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(1.8, 1.9), Now, TimeZoneInfo.Utc);

        Assert.NotNull(result.Target);
        Assert.Equal(1.92, result.Target.Value, 1e-9);
        Assert.Equal(KpiStatus.Met, result.Status);
    }

    [Fact]
    public void Evaluate_RelativeTargetWithNumericBaselineNotReached_IsMissed()
    {
        var kpi = Kpi("<= baseline - 20%", baseline: new Baseline(2.4, null, null));

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(2.0), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Missed, result.Status);
        Assert.Equal(1.92, result.Target!.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_RelativeTargetWithPeriodBaseline_UsesBaselineValueGiven()
    {
        var kpi = Kpi("<= baseline - 20%", Deadline, new Baseline(null, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31)));

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(2.0), Now, TimeZoneInfo.Utc, baseline: 2.4);

        Assert.Equal(1.92, result.Target!.Value, 1e-9);
        Assert.Equal(KpiStatus.AtRisk, result.Status);
    }

    [Fact]
    public void Evaluate_RelativeTargetWithoutBaselineValue_IsNoDataWithNullTarget()
    {
        var kpi = Kpi("<= baseline - 20%", Deadline, new Baseline(null, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31)));

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(1.0), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.Null(result.Target);
        Assert.False(result.Met);
        Assert.Equal(1.0, result.Value);
    }

    [Fact]
    public void Evaluate_AvailabilityAboveThreePercentNines_IsMet()
    {
        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 99.9%"), Samples(0.9995), Now, TimeZoneInfo.Utc);

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.True(result.Met);
    }

    [Fact]
    public void Evaluate_AvailabilityExactlyAtPercentTarget_IsMet()
    {
        // 999 successful probes out of 1000 is exactly 99.9% uptime.
        var probes = Enumerable.Repeat(1.0, 999).Append(0.0).ToArray();

        var result = KpiEvaluator.Evaluate("cloud-migration", Kpi(">= 99.9%"), Samples(probes), Now, TimeZoneInfo.Utc);

        Assert.Equal(0.999, result.Value);
        Assert.Equal(KpiStatus.Met, result.Status);
    }

    [Fact]
    public void Evaluate_RatioKpi_UsesDenominatorSamples()
    {
        var kpi = Kpi(">= 0.9", aggregate: Aggregate.Ratio);
        var samples = new KpiSamples(
            [new Point(1, 90), new Point(2, 95)],
            [new Point(1, 90), new Point(2, 95), new Point(1, 10), new Point(2, 5)]);

        var result = KpiEvaluator.Evaluate("cache", kpi, samples, Now, TimeZoneInfo.Utc);

        Assert.Equal(0.925, result.Value!.Value, 1e-12);
        Assert.Equal(KpiStatus.Met, result.Status);
    }

    [Fact]
    public void WindowOf_RollingWindow_EndsNowAndStartsDurationBefore()
    {
        var (from, to) = KpiEvaluator.WindowOf(Kpi(">= 0.99"), Now, TimeZoneInfo.Utc);

        Assert.Equal(new DateTimeOffset(2027, 1, 30, 12, 0, 0, TimeSpan.Zero), from);
        Assert.Equal(Now, to);
    }

    [Theory]
    [InlineData(KpiStatus.NoData, "no_data")]
    [InlineData(KpiStatus.Met, "met")]
    [InlineData(KpiStatus.OnTrack, "on_track")]
    [InlineData(KpiStatus.AtRisk, "at_risk")]
    [InlineData(KpiStatus.Missed, "missed")]
    public void Label_Status_ReturnsMetricLabelValue(KpiStatus status, string expected)
    {
        Assert.Equal(expected, status.Label());
    }
}
