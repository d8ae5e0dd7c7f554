using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class AggregatesTests
{
    private const long Start = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    /// <summary>Samples 10 s apart, oldest first.</summary>
    private static Point[] Series(params double[] values) =>
        values.Select((v, i) => new Point(Start + (i * 10_000L), v)).ToArray();

    public static TheoryData<Aggregate, double[], double> Cases => new()
    {
        { Aggregate.Avg, [2, 4, 9], 5 },
        { Aggregate.Min, [3, -2, 7], -2 },
        { Aggregate.Max, [3, -2, 7], 7 },
        { Aggregate.Last, [3, 9, 4], 4 },
        { Aggregate.Sum, [1.5, 2.5, 3], 7 },
        { Aggregate.Count, [5, 5, 5, 5], 4 },
        { Aggregate.P50, [7, 1, 3, 5], 4 },
        { Aggregate.P90, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 10 },
        { Aggregate.Increase, [10, 15, 3, 8], 13 },
        { Aggregate.Increase, [0, 5, 5, 12], 12 },
        { Aggregate.Increase, [5, 0, 2], 2 },
        { Aggregate.Rate, [10, 15, 3, 8], 13.0 / 30 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compute_Aggregate_ReturnsExpectedValue(Aggregate aggregate, double[] values, double expected)
    {
        var result = Aggregates.Compute(aggregate, Series(values));

        Assert.NotNull(result);
        Assert.Equal(expected, result.Value, 1e-9);
    }

    [Theory]
    [InlineData(Aggregate.P50, 50.5)]
    [InlineData(Aggregate.P90, 90.1)]
    [InlineData(Aggregate.P95, 95.05)]
    [InlineData(Aggregate.P99, 99.01)]
    public void Compute_PercentileOfOneToHundred_InterpolatesBetweenClosestRanks(Aggregate aggregate, double expected)
    {
        // 1..100 in a scrambled order: the percentile must not depend on sample order.
        var values = Enumerable.Range(1, 100).Select(i => (double)((i * 37 % 100) + 1)).ToArray();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (double)i), values.Order());

        var result = Aggregates.Compute(aggregate, Series(values));

        Assert.NotNull(result);
        Assert.Equal(expected, result.Value, 1e-9);
    }

    [Fact]
    public void Compute_RateOverUnevenSpacing_DividesIncreaseBySecondsBetweenFirstAndLast()
    {
        Point[] points = [new(Start, 100), new(Start + 1_000, 110), new(Start + 60_000, 160)];

        var result = Aggregates.Compute(Aggregate.Rate, points);

        Assert.NotNull(result);
        Assert.Equal(1.0, result.Value, 1e-12);
    }

    [Fact]
    public void Compute_RateWithAllSamplesAtOneInstant_ReturnsNull()
    {
        Point[] points = [new(Start, 1), new(Start, 2)];

        Assert.Null(Aggregates.Compute(Aggregate.Rate, points));
    }

    [Fact]
    public void Compute_Ratio_DividesNumeratorSumByDenominatorSum()
    {
        var hits = Series(90, 80);
        var hitsAndMisses = Series(90, 80, 10, 20);

        var result = Aggregates.Compute(Aggregate.Ratio, hits, hitsAndMisses);

        Assert.NotNull(result);
        Assert.Equal(0.85, result.Value, 1e-12);
    }

    [Fact]
    public void Compute_RatioWithNoNumeratorSamples_IsZero()
    {
        var result = Aggregates.Compute(Aggregate.Ratio, [], Series(10, 20));

        Assert.Equal(0.0, result);
    }

    [Theory]
    [InlineData(new double[] { 0, 0 })]
    [InlineData(new double[0])]
    [InlineData(new double[] { double.NaN })]
    public void Compute_RatioWithZeroDenominator_ReturnsNull(double[] denominator)
    {
        Assert.Null(Aggregates.Compute(Aggregate.Ratio, Series(0, 0), Series(denominator)));
    }

    [Fact]
    public void Compute_RatioWithoutDenominatorList_ReturnsNull()
    {
        Assert.Null(Aggregates.Compute(Aggregate.Ratio, Series(1, 2)));
    }

    public static TheoryData<Aggregate> AllButCount =>
        new(Enum.GetValues<Aggregate>().Where(a => a != Aggregate.Count));

    [Theory]
    [MemberData(nameof(AllButCount))]
    public void Compute_EmptyWindow_ReturnsNull(Aggregate aggregate)
    {
        Assert.Null(Aggregates.Compute(aggregate, [], []));
    }

    [Fact]
    public void Compute_CountOfEmptyWindow_ReturnsZero()
    {
        Assert.Equal(0.0, Aggregates.Compute(Aggregate.Count, []));
    }

    [Theory]
    [InlineData(Aggregate.Avg, 7.0)]
    [InlineData(Aggregate.Min, 7.0)]
    [InlineData(Aggregate.Max, 7.0)]
    [InlineData(Aggregate.Last, 7.0)]
    [InlineData(Aggregate.Sum, 7.0)]
    [InlineData(Aggregate.Count, 1.0)]
    [InlineData(Aggregate.P50, 7.0)]
    [InlineData(Aggregate.P90, 7.0)]
    [InlineData(Aggregate.P95, 7.0)]
    [InlineData(Aggregate.P99, 7.0)]
    public void Compute_SingleSample_ReturnsThatSample(Aggregate aggregate, double expected)
    {
        Assert.Equal(expected, Aggregates.Compute(aggregate, Series(7)));
    }

    [Theory]
    [InlineData(Aggregate.Increase)]
    [InlineData(Aggregate.Rate)]
    public void Compute_CounterAggregateOfSingleSample_ReturnsNull(Aggregate aggregate)
    {
        // One sample of a counter says nothing about how much it grew.
        Assert.Null(Aggregates.Compute(aggregate, Series(7)));
    }

    [Theory]
    [InlineData(Aggregate.Avg, 2.0)]
    [InlineData(Aggregate.Min, 1.0)]
    [InlineData(Aggregate.Max, 3.0)]
    [InlineData(Aggregate.Last, 3.0)]
    [InlineData(Aggregate.Sum, 4.0)]
    [InlineData(Aggregate.Count, 2.0)]
    [InlineData(Aggregate.P50, 2.0)]
    [InlineData(Aggregate.Increase, 2.0)]
    public void Compute_NaNSamples_AreIgnored(Aggregate aggregate, double expected)
    {
        var result = Aggregates.Compute(aggregate, Series(double.NaN, 1, double.NaN, 3, double.NaN));

        Assert.Equal(expected, result);
    }

    [Fact]
    public void Compute_RateWithNaNAtEnds_UsesSpanOfUsableSamples()
    {
        // Usable samples at 10 s and 30 s: an increase of 2 over 20 s.
        var result = Aggregates.Compute(Aggregate.Rate, Series(double.NaN, 1, double.NaN, 3, double.NaN));

        Assert.NotNull(result);
        Assert.Equal(0.1, result.Value, 1e-12);
    }

    [Fact]
    public void Compute_RatioWithNaNSamples_IgnoresThem()
    {
        var result = Aggregates.Compute(Aggregate.Ratio, Series(3, double.NaN, 1), Series(4, double.NaN, 4));

        Assert.Equal(0.5, result);
    }

    [Fact]
    public void Compute_OnlyNaNSamples_IsEmptyWindow()
    {
        Assert.Null(Aggregates.Compute(Aggregate.Avg, Series(double.NaN, double.NaN)));
        Assert.Equal(0.0, Aggregates.Compute(Aggregate.Count, Series(double.NaN, double.NaN)));
    }
}
