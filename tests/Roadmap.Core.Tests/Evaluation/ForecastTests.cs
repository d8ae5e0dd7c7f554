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
    public void Fit_NoisyPoints_ReturnsTheLeastSquaresLine()
    {
        // x in hours 0..4, y = 1, 3, 2, 4, 5: mean x 2, mean y 3, Sxy 9, Sxx 10, so slope 0.9/h and intercept 1.2.
        var history = At([0, Hour, 2 * Hour, 3 * Hour, 4 * Hour], [1, 3, 2, 4, 5]);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(0.9 / 3600, trend.Slope, 1e-15);
        Assert.Equal(1.2, trend.Intercept, 1e-9);
        Assert.Equal(1.2 + (0.9 * 10), trend.At(StartAt.AddHours(10)), 1e-9);
    }

    [Fact]
    public void Fit_PointsOutOfOrder_FitsTheSameLineFromTheEarliestPoint()
    {
        var history = At([4 * Hour, 0, 2 * Hour, Hour, 3 * Hour], [5, 1, 2, 3, 4]);

        var trend = Forecast.Fit(history);

        Assert.NotNull(trend);
        Assert.Equal(StartAt, trend.Origin);
        Assert.Equal(0.9 / 3600, trend.Slope, 1e-15);
        Assert.Equal(1.2, trend.Intercept, 1e-9);
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
        Assert.Equal(0.9 / 3600, trend.Slope, 1e-15);
        Assert.Equal(1.2, trend.Intercept, 1e-9);
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
