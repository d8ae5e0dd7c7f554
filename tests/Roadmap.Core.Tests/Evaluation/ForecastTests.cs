using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class ForecastTests
{
    private const long Minute = 60_000;
    private const long Hour = 3_600_000;

    private static readonly DateTimeOffset StartAt = new(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);
    private static readonly long Start = StartAt.ToUnixTimeMilliseconds();

    /// <summary>Points at the given offsets (milliseconds after <see cref="Start"/>) with the given values.</summary>
    private static Point[] At(long[] offsetsMs, double[] values) =>
        offsetsMs.Select((o, i) => new Point(Start + o, values[i])).ToArray();

    /// <summary>n points, <paramref name="stepMs"/> apart, all at <paramref name="value"/>.</summary>
    private static Point[] Flat(int n, long stepMs, double value) =>
        Enumerable.Range(0, n).Select(i => new Point(Start + (i * stepMs), value)).ToArray();

    public static TheoryData<string, Point[]> TooLittleHistory => new()
    {
        { "no points", [] },
        { "one point", Flat(1, Hour, 2) },
        { "four points over three hours", Flat(4, Hour, 2) },
        { "five points over 59m59.999s", At([0, 15 * Minute, 30 * Minute, 45 * Minute, Hour - 1], [1, 2, 3, 4, 5]) },
        { "ten points at one instant", Flat(10, 0, 2) },
        { "five points of which two NaN", At([0, Hour, 2 * Hour, 3 * Hour, 4 * Hour], [1, double.NaN, 3, double.NaN, 5]) },
        { "five points of which one infinite", At([0, Hour, 2 * Hour, 3 * Hour, 4 * Hour], [1, 2, double.PositiveInfinity, 4, 5]) },
        { "NaN at the ends only make the span", At([0, 30 * Minute, 31 * Minute, 32 * Minute, 33 * Minute, 34 * Minute, 2 * Hour], [double.NaN, 1, 2, 3, 4, 5, double.NaN]) },
    };

    [Theory]
    [MemberData(nameof(TooLittleHistory))]
    public void Fit_TooLittleHistory_ReturnsNull(string scenario, Point[] history)
    {
        Assert.True(scenario.Length > 0);

        Assert.Null(Forecast.Fit(history));
    }

    [Fact]
    public void Fit_FivePointsSpanningExactlyOneHour_ReturnsTrend()
    {
        var history = At([0, 15 * Minute, 30 * Minute, 45 * Minute, Hour], [1, 2, 3, 4, 5]);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(5, trend.Points);
        Assert.Equal(TimeSpan.FromHours(1), trend.Span);
        // +1 every 15 minutes: 4 per hour.
        Assert.Equal(4.0 / 3600, trend.Slope, 1e-12);
        Assert.Equal(1.0, trend.Intercept, 1e-9);
    }

    [Fact]
    public void Fit_PointsOnALine_RecoversTheLineExactly()
    {
        // value = 2.4 - 0.1 per hour, sampled every 15 minutes for 6 hours.
        var history = Enumerable.Range(0, 25).Select(i => new Point(Start + (i * 15 * Minute), 2.4 - (0.025 * i))).ToArray();

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(StartAt, trend.Origin);
        Assert.Equal(2.4, trend.Intercept, 1e-9);
        Assert.Equal(-0.1 / 3600, trend.Slope, 1e-15);
        Assert.Equal(25, trend.Points);
        Assert.Equal(TimeSpan.FromHours(6), trend.Span);
        // 24 hours after the first point: 2.4 - 2.4 = 0.
        Assert.Equal(0.0, trend.At(StartAt.AddHours(24)), 1e-9);
        // A week later: 2.4 - 16.8.
        Assert.Equal(-14.4, trend.At(StartAt.AddDays(7)), 1e-9);
    }

    [Fact]
    public void Fit_NoisyPoints_ReturnsTheTheilSenLine()
    {
        // x in hours 0..4, y = 1, 3, 2, 4, 5. The ten pairwise slopes, sorted: -1, 0.5, 0.5, 0.667, 1, 1, 1, 1.5, 2,
        // 2: median 1/h (least squares says 0.9). y - x: 1, 2, 0, 1, 1: intercept 1. Residuals 0, 1, -1, 0, 0: median
        // absolute residual 0, so sigma 0.
        var history = At([0, Hour, 2 * Hour, 3 * Hour, 4 * Hour], [1, 3, 2, 4, 5]);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(1.0 / 3600, trend.Slope, 1e-15);
        Assert.Equal(1.0, trend.Intercept, 1e-9);
        Assert.Equal(0.0, trend.Sigma, 1e-12);
        Assert.Equal(11.0, trend.At(StartAt.AddHours(10)), 1e-9);
    }

    [Fact]
    public void Fit_PointsOutOfOrder_FitsTheSameLineFromTheEarliestPoint()
    {
        var history = At([4 * Hour, 0, 2 * Hour, Hour, 3 * Hour], [5, 1, 2, 3, 4]);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(StartAt, trend.Origin);
        Assert.Equal(1.0 / 3600, trend.Slope, 1e-15);
        Assert.Equal(1.0, trend.Intercept, 1e-9);
    }

    [Fact]
    public void Fit_NaNAndInfinityAmongPoints_AreIgnored()
    {
        // The same five points as the noisy case, with non-finite values between them.
        var history = At(
            [0, 30 * Minute, Hour, 90 * Minute, 2 * Hour, 3 * Hour, 4 * Hour, 5 * Hour],
            [1, double.NaN, 3, double.NegativeInfinity, 2, 4, 5, double.NaN]);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(5, trend.Points);
        Assert.Equal(TimeSpan.FromHours(4), trend.Span);
        Assert.Equal(1.0 / 3600, trend.Slope, 1e-15);
        Assert.Equal(1.0, trend.Intercept, 1e-9);
    }

    [Fact]
    public void Fit_FlatHistory_HasSlopeZeroAndProjectsTheSameValue()
    {
        var history = Flat(12, 10 * Minute, 2.1);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(0.0, trend.Slope, 1e-15);
        Assert.Equal(2.1, trend.Intercept, 1e-12);
        Assert.Equal(2.1, trend.At(new DateTimeOffset(2027, 4, 1, 0, 0, 0, TimeSpan.Zero)), 1e-12);
    }

    [Fact]
    public void Fit_ThirtyDaysOfMillisecondTimestamps_StaysAccurate()
    {
        // One point an hour for 30 days, falling 0.001 per hour from 100: large timestamps must not cost precision.
        var history = Enumerable.Range(0, 720).Select(i => new Point(Start + (i * Hour), 100 - (0.001 * i))).ToArray();

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(-0.001 / 3600, trend.Slope, 1e-15);
        Assert.Equal(100.0, trend.Intercept, 1e-9);
        Assert.Equal(100 - (0.001 * 1000), trend.At(StartAt.AddHours(1000)), 1e-9);
    }

    [Fact]
    public void At_LinearTrend_IsInterceptPlusSlopeTimesSecondsSinceOrigin()
    {
        var trend = new LinearTrend(StartAt, 2.0, -0.5 / 3600, 5, TimeSpan.FromHours(1));

        Assert.Equal(2.0, trend.At(StartAt));
        Assert.Equal(1.0, trend.At(StartAt.AddHours(2)), 1e-12);
        Assert.Equal(2.5, trend.At(StartAt.AddHours(-1)), 1e-12);
    }
}

/// <summary>The forecast's bounds, interval and probability, and its robustness against least squares.</summary>
public class ForecastProjectionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static KpiConfig Kpi(Aggregate aggregate, string signal, string? unit, string target = ">= 0.5")
    {
        Assert.True(Target.TryParse(target, out var t));
        return new KpiConfig("k", "K", "s", signal, aggregate == Aggregate.Ratio ? ["total"] : [], aggregate, Window.OfDuration(TimeSpan.FromDays(1)), t, null, null, unit);
    }

    public static TheoryData<string, Aggregate, string, string?, double, double> BoundRules => new()
    {
        { "ratio", Aggregate.Ratio, "hits", null, 0, 1 },
        { "avg of up", Aggregate.Avg, "up", null, 0, 1 },
        { "p95 of up", Aggregate.P95, "up", null, 0, 1 },
        { "unit ratio", Aggregate.Last, "hit_ratio", "ratio", 0, 1 },
        { "unit percent", Aggregate.Avg, "cpu", "percent", 0, 100 },
        { "count", Aggregate.Count, "up", null, 0, double.PositiveInfinity },
        { "increase", Aggregate.Increase, "requests", null, 0, double.PositiveInfinity },
        { "rate", Aggregate.Rate, "requests", null, 0, double.PositiveInfinity },
        { "unit seconds", Aggregate.P95, "value", "seconds", 0, double.PositiveInfinity },
        { "signal *_seconds", Aggregate.Avg, "latency_seconds", null, 0, double.PositiveInfinity },
        { "signal *_total", Aggregate.Last, "errors_total", null, 0, double.PositiveInfinity },
        { "signal *_ratio", Aggregate.Avg, "hit_ratio", null, 0, 1 },
        { "sum of a *_ratio", Aggregate.Sum, "hit_ratio", null, double.NegativeInfinity, double.PositiveInfinity },
        { "signal hits", Aggregate.Last, "hits", null, 0, double.PositiveInfinity },
        { "an arbitrary gauge", Aggregate.Sum, "temperature", "celsius", double.NegativeInfinity, double.PositiveInfinity },
    };

    [Theory]
    [MemberData(nameof(BoundRules))]
    public void ValueBoundsOf_Kpi_FollowsTheAggregateSignalAndUnit(string scenario, Aggregate aggregate, string signal, string? unit, double min, double max)
    {
        var bounds = ValueBounds.Of(Kpi(aggregate, signal, unit));

        Assert.True((min, max) == (bounds.Min, bounds.Max), $"{scenario}: {bounds}");
    }

    public static TheoryData<Comparison, double, double, double, double> Probabilities => new()
    {
        // op, forecast, target, sigma, probability
        { Comparison.GreaterOrEqual, 0.9, 0.8, 0.1, 0.8413447 },   // one sigma above
        { Comparison.GreaterOrEqual, 0.8, 0.8, 0.1, 0.5 },
        { Comparison.Greater, 0.7, 0.8, 0.1, 0.1586553 },
        { Comparison.LessOrEqual, 1.5, 1.92, 0.42, 0.8413447 },
        { Comparison.Less, 2.0, 1.92, 0.0, 0 },                    // sigma 0: the line decides
        { Comparison.LessOrEqual, 1.9, 1.92, 0.0, 1 },
        { Comparison.Equal, 0, 0, 0.5, 0 },                        // a single point has no probability
        { Comparison.Equal, 0, 0, 0, 1 },
    };

    [Theory]
    [MemberData(nameof(Probabilities))]
    public void Probability_MarginOverSigma_IsTheNormalCdf(Comparison op, double forecast, double target, double sigma, double expected) =>
        Assert.Equal(expected, Forecast.Probability(op, forecast, target, sigma), 1e-6);

    [Fact]
    public void NormalCdf_KnownQuantiles_MatchTheTable()
    {
        Assert.Equal(0.5, Forecast.NormalCdf(0), 1e-7);
        Assert.Equal(0.9, Forecast.NormalCdf(Forecast.Z80), 1e-7);
        Assert.Equal(0.025, Forecast.NormalCdf(-1.959964), 1e-7);
    }

    [Fact]
    public void Project_LatencyTrendBelowZero_IsBoundedWithItsBand()
    {
        // 2.1 s now, falling 0.02 s a day, sigma 0.05: the line says 2.1 - 2.4 = -0.3 s in 120 days.
        var trend = new LinearTrend(Now, 2.1, -0.02 / 86_400, 100, TimeSpan.FromDays(30), 0.05);

        var f = Forecast.Project(trend, Now.AddDays(120), Comparison.LessOrEqual, 1.92, ValueBounds.NonNegative);

        Assert.Equal((0.0, 0.0, 0.0), (f.Value, f.Lower, f.Upper)); // -0.3 ± 0.064 is below 0 entirely
        Assert.Equal(1.0, f.Probability, 1e-12);
    }

    [Fact]
    public void Project_UptimeTrend_HasAnEightyPercentBandAndAProbability()
    {
        // 0.995 now, rising 0.00005 a day, sigma 0.002; target >= 0.999 in 60 days: 0.998 ± 1.2816 × 0.002.
        var trend = new LinearTrend(Now, 0.995, 0.00005 / 86_400, 100, TimeSpan.FromDays(30), 0.002);

        var f = Forecast.Project(trend, Now.AddDays(60), Comparison.GreaterOrEqual, 0.999, ValueBounds.UnitInterval);

        Assert.Equal(0.998, f.Value, 1e-9);
        Assert.Equal(0.998 - (Forecast.Z80 * 0.002), f.Lower, 1e-9);
        Assert.Equal(1.0, f.Upper, 1e-12); // 1.00056 bounded to 1
        Assert.Equal(Forecast.NormalCdf(-0.5), f.Probability, 1e-9); // 0.3085
    }

    [Fact]
    public void Fit_EightThousandPoints_ThinsToRecoverTheLine()
    {
        // 30 days at one point per 5 minutes: 8,640 points (37 million pairs unthinned).
        var history = Enumerable.Range(0, 8640).Select(i => new Point(Now.AddMinutes(5 * i).ToUnixTimeMilliseconds(), 2.4 - (0.01 * i / 288.0))).ToList();

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(-0.01 / 86_400, trend.Slope, 1e-15);
        Assert.Equal(2.4, trend.Intercept, 1e-9);
        Assert.Equal(0, trend.Sigma, 1e-9);
    }

    /// <summary>30 days of hourly evaluations along a line with a small deterministic wobble, one replaced by an outlier.</summary>
    private static List<Point> History(double start, double perDay, double wobble, int outlierAt, double outlier)
    {
        var points = Enumerable.Range(0, 720)
            .Select(i => new Point(Now.AddHours(i - 720).ToUnixTimeMilliseconds(), start + (perDay * i / 24.0) + (wobble * Math.Sin(i * 1.7))))
            .ToList();
        if (outlierAt >= 0)
        {
            points[outlierAt] = points[outlierAt] with { Value = outlier };
        }

        return points;
    }

    /// <summary>The least-squares verdict the forecast had before: the line at the deadline meets the target.</summary>
    private static bool LeastSquaresMeets(List<Point> points, DateTimeOffset deadline, Comparison op, double target)
    {
        var x = points.Select(p => (p.TimestampMs - points[0].TimestampMs) / 1000.0).ToList();
        var (mx, my) = (x.Average(), points.Average(p => p.Value));
        var slope = x.Select((xi, i) => (xi - mx) * (points[i].Value - my)).Sum() / x.Sum(xi => (xi - mx) * (xi - mx));
        var at = my + (slope * (((deadline.ToUnixTimeMilliseconds() - points[0].TimestampMs) / 1000.0) - mx));
        return Target.Satisfies(op, at, target);
    }

    public static TheoryData<string, double, double, Comparison, double, int, double, bool> Outliers => new()
    {
        // scenario, start, per day, op, target, outlier index (-1 none), outlier value, least squares still right?
        { "latency falling to 1.92 s, no outlier", 2.4, -0.01, Comparison.LessOrEqual, 1.92, -1, 0, true },
        { "latency, one 30 s timeout evaluation last", 2.4, -0.01, Comparison.LessOrEqual, 1.92, 719, 32, false },
        { "latency flat at 2.1 s, no outlier", 2.1, 0, Comparison.LessOrEqual, 1.92, -1, 0, true },
        { "latency flat at 2.1 s, one 30 s timeout evaluation first", 2.1, 0, Comparison.LessOrEqual, 1.92, 0, 32, false },
        { "uptime rising to 99.9%, one outage evaluation last", 0.9975, 0.00005, Comparison.GreaterOrEqual, 0.999, 719, 0, false },
        { "uptime, one outage evaluation in the middle", 0.9975, 0.00005, Comparison.GreaterOrEqual, 0.999, 360, 0, true },
    };

    [Theory]
    [MemberData(nameof(Outliers))]
    public void Fit_OneOutlierEvaluation_DoesNotSwingAQuartersVerdict(string scenario, double start, double perDay, Comparison op, double target, int outlierAt, double outlier, bool leastSquaresRight)
    {
        var deadline = Now.AddDays(60); // the rest of the quarter
        var clean = History(start, perDay, 0.002, -1, 0);
        var dirty = History(start, perDay, 0.002, outlierAt, outlier);
        var bounds = op == Comparison.GreaterOrEqual ? ValueBounds.UnitInterval : ValueBounds.NonNegative;

        var before = Forecast.Project(Forecast.Fit(clean)!, deadline, op, target, bounds);
        var after = Forecast.Project(Forecast.Fit(dirty)!, deadline, op, target, bounds);

        // The robust verdict does not move, and its forecast moves by less than the wobble.
        Assert.True(before.Probability >= Forecast.OnTrackProbability == after.Probability >= Forecast.OnTrackProbability, scenario);
        Assert.Equal(before.Value, after.Value, 0.01);
        // Least squares, measured on the same histories: a wild first or last evaluation flips its verdict.
        Assert.Equal(leastSquaresRight, LeastSquaresMeets(clean, deadline, op, target) == LeastSquaresMeets(dirty, deadline, op, target));
    }
}
