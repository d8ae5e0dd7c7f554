using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class SeriesSummaryTests
{
    private const long Start = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    /// <summary>Samples 10 s apart, oldest first.</summary>
    private static Point[] Series(long from, params double[] values) =>
        values.Select((v, i) => new Point(from + (i * 10_000L), v)).ToArray();

    /// <summary>
    /// A random series: a counter with resets (falls) when <paramref name="counter"/>, else a gauge around zero;
    /// integral values so sums are exact in any order; some NaN; timestamps rising, sometimes sharing a millisecond.
    /// </summary>
    private static Point[] RandomSeries(Random random, int length, bool counter, bool integral = true)
    {
        var points = new Point[length];
        var t = Start + random.Next(1000);
        var value = (double)random.Next(100);
        for (var i = 0; i < length; i++)
        {
            t += random.Next(4) == 0 ? 0 : random.Next(1, 30_000);
            if (counter)
            {
                value = random.Next(8) == 0 ? random.Next(10) : value + random.Next(20);
            }
            else
            {
                value = random.Next(-50, 51);
            }

            var v = integral ? value : value + random.NextDouble();
            points[i] = new Point(t, random.Next(20) == 0 ? double.NaN : v);
        }

        return points;
    }

    /// <summary>Cuts <paramref name="points"/> into <paramref name="parts"/> consecutive pieces, some possibly empty.</summary>
    private static List<Point[]> Split(Random random, Point[] points, int parts)
    {
        var cuts = Enumerable.Range(0, parts - 1).Select(_ => random.Next(points.Length + 1)).Order().ToList();
        cuts.Insert(0, 0);
        cuts.Add(points.Length);
        return Enumerable.Range(0, parts).Select(i => points[cuts[i]..cuts[i + 1]]).ToList();
    }

    /// <summary>What storage does: keep the numbers and the sketch's bytes, then read them back.</summary>
    private static SeriesSummary Restored(SeriesSummary summary) => SeriesSummary.Restore(
        summary.Count, summary.Sum, summary.Min, summary.Max, summary.FirstTimestampMs, summary.FirstValue,
        summary.LastTimestampMs, summary.LastValue, summary.Increase, QuantileSketch.FromBytes(summary.Sketch.ToBytes()));

    private static SeriesSummary Appended(IEnumerable<SeriesSummary> pieces)
    {
        var total = SeriesSummary.Empty();
        foreach (var piece in pieces)
        {
            total.Append(piece);
        }

        return total;
    }

    private static void AssertSameNumbers(SeriesSummary expected, SeriesSummary actual, double sumTolerance = 0)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Min, actual.Min);
        Assert.Equal(expected.Max, actual.Max);
        Assert.Equal(expected.FirstTimestampMs, actual.FirstTimestampMs);
        Assert.Equal(expected.FirstValue, actual.FirstValue);
        Assert.Equal(expected.LastTimestampMs, actual.LastTimestampMs);
        Assert.Equal(expected.LastValue, actual.LastValue);
        if (sumTolerance == 0)
        {
            Assert.Equal(expected.Sum, actual.Sum);
            Assert.Equal(expected.Increase, actual.Increase);
        }
        else
        {
            Assert.Equal(expected.Sum, actual.Sum, sumTolerance * Math.Max(1, Math.Abs(expected.Sum)));
            Assert.Equal(expected.Increase, actual.Increase, sumTolerance * Math.Max(1, Math.Abs(expected.Increase)));
        }
    }

    [Fact]
    public void Add_Samples_GivesTheirNumbers()
    {
        var summary = SeriesSummary.FromPoints(Series(Start, 10, 15, double.NaN, 3, 8));

        Assert.Equal(4, summary.Count);
        Assert.Equal(36, summary.Sum);
        Assert.Equal(3, summary.Min);
        Assert.Equal(15, summary.Max);
        Assert.Equal(Start, summary.FirstTimestampMs);
        Assert.Equal(10, summary.FirstValue);
        Assert.Equal(Start + 40_000, summary.LastTimestampMs);
        Assert.Equal(8, summary.LastValue);
        // 10 -> 15 (+5), reset to 3 (+3), -> 8 (+5).
        Assert.Equal(13, summary.Increase);
        Assert.Equal(new double[] { 10, 15, 3, 8 }, summary.ExactValues!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Clear_ThenReused_GivesTheNumbersOfAFreshSummary(bool keepsExactValues)
    {
        var random = new Random(11);
        var reused = keepsExactValues ? SeriesSummary.Empty() : SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch());
        foreach (var p in RandomSeries(random, 500, counter: true))
        {
            reused.Add(p);
        }

        for (var round = 0; round < 3; round++)
        {
            reused.Clear();
            Assert.Equal(0, reused.Count);
            Assert.Equal(0, reused.Sum);
            Assert.True(double.IsNaN(reused.Min) && double.IsNaN(reused.Max) && double.IsNaN(reused.LastValue));
            var points = RandomSeries(random, 1 + (round * 40), counter: round == 1);
            var fresh = keepsExactValues ? SeriesSummary.Empty() : SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch());
            foreach (var p in points)
            {
                reused.Add(p);
                fresh.Add(p);
            }

            Assert.Equal(
                (fresh.Count, fresh.Sum, fresh.Min, fresh.Max, fresh.FirstTimestampMs, fresh.FirstValue, fresh.LastTimestampMs, fresh.LastValue, fresh.Increase),
                (reused.Count, reused.Sum, reused.Min, reused.Max, reused.FirstTimestampMs, reused.FirstValue, reused.LastTimestampMs, reused.LastValue, reused.Increase));
            Assert.Equal(fresh.Sketch.ToBytes(), reused.Sketch.ToBytes());
            Assert.Equal(fresh.ExactValues, reused.ExactValues);

            // Appended elsewhere, it gives what the fresh one gives.
            var target = SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch());
            var expected = SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch());
            target.Append(reused);
            expected.Append(fresh);
            Assert.Equal(expected.Sketch.ToBytes(), target.Sketch.ToBytes());
            Assert.Equal(expected.Increase, target.Increase);
        }
    }

    [Fact]
    public void Empty_HasNoSamplesAndNaNExtremes()
    {
        var empty = SeriesSummary.Empty();

        Assert.Equal(0, empty.Count);
        Assert.Equal(0, empty.Sum);
        Assert.True(double.IsNaN(empty.Min) && double.IsNaN(empty.Max) && double.IsNaN(empty.FirstValue) && double.IsNaN(empty.LastValue));
        Assert.Equal(0, empty.Increase);
        Assert.Empty(empty.ExactValues!);
        Assert.Equal(0, empty.Sketch.Count);
        Assert.NotSame(empty, SeriesSummary.Empty());
    }

    public static TheoryData<string, double[], double[], double> Boundaries => new()
    {
        { "rise across the boundary", [10, 15], [20, 22], 12 },
        { "counter reset at the boundary", [10, 15], [3, 8], 13 },
        { "reset to zero at the boundary", [100], [0, 4], 4 },
        { "flat across the boundary", [7, 7], [7], 0 },
    };

    [Theory]
    [MemberData(nameof(Boundaries))]
    public void Append_Boundary_FollowsTheResetRule(string scenario, double[] first, double[] second, double increase)
    {
        var summary = SeriesSummary.FromPoints(Series(Start, first));
        summary.Append(SeriesSummary.FromPoints(Series(Start + 1_000_000, second)));

        Assert.True(scenario.Length > 0);
        Assert.Equal(increase, summary.Increase);
        Assert.Equal(first.Length + second.Length, summary.Count);
        Assert.Equal(first[0], summary.FirstValue);
        Assert.Equal(second[^1], summary.LastValue);
    }

    [Fact]
    public void Append_RandomSplits_EqualsTheSummaryOfTheConcatenation()
    {
        var random = new Random(42);
        for (var round = 0; round < 400; round++)
        {
            var points = RandomSeries(random, random.Next(0, 60), counter: round % 2 == 0);
            var whole = SeriesSummary.FromPoints(points);
            var pieces = Split(random, points, random.Next(1, 8));

            var raw = Appended(pieces.Select(SeriesSummary.FromPoints));
            AssertSameNumbers(whole, raw);
            Assert.Equal(whole.ExactValues!, raw.ExactValues!);
            Assert.Equal(whole.Sketch.ToBytes(), raw.Sketch.ToBytes());

            var restored = Appended(pieces.Select(p => Restored(SeriesSummary.FromPoints(p))));
            AssertSameNumbers(whole, restored);
            Assert.Equal(whole.Sketch.ToBytes(), restored.Sketch.ToBytes());
            if (pieces.Any(p => p.Any(x => !double.IsNaN(x.Value))))
            {
                Assert.Null(restored.ExactValues);
            }
        }
    }

    [Fact]
    public void Append_RandomSplitsOfFractionalValues_EqualUpToRounding()
    {
        var random = new Random(43);
        for (var round = 0; round < 200; round++)
        {
            var points = RandomSeries(random, random.Next(1, 60), counter: round % 2 == 0, integral: false);
            var whole = SeriesSummary.FromPoints(points);
            var pieces = Split(random, points, random.Next(1, 8));

            AssertSameNumbers(whole, Appended(pieces.Select(p => Restored(SeriesSummary.FromPoints(p)))), sumTolerance: 1e-12);
        }
    }

    [Fact]
    public void Append_RawAfterRestored_DropsExactValuesAndKeepsTheSketch()
    {
        var summary = Restored(SeriesSummary.FromPoints(Series(Start, 1, 2, 3)));
        summary.Append(SeriesSummary.FromPoints(Series(Start + 100_000, 4, 5)));

        Assert.Null(summary.ExactValues);
        Assert.Equal(5, summary.Sketch.Count);
        Assert.Equal(15, summary.Sum);
    }

    [Fact]
    public void Append_Empty_ChangesNothing()
    {
        var summary = SeriesSummary.FromPoints(Series(Start, 1, 2));
        summary.Append(SeriesSummary.Empty());
        summary.Append(SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch()));

        AssertSameNumbers(SeriesSummary.FromPoints(Series(Start, 1, 2)), summary);
        Assert.NotNull(summary.ExactValues);
    }

    [Fact]
    public void Append_EarlierSummary_Throws()
    {
        var summary = SeriesSummary.FromPoints(Series(Start + 60_000, 1, 2));

        var error = Assert.Throws<ArgumentException>(() => summary.Append(SeriesSummary.FromPoints(Series(Start, 3))));
        Assert.Contains("before this one ends", error.Message);
        Assert.Throws<ArgumentException>(() => summary.Append(summary));
    }

    [Fact]
    public void Append_SameMillisecond_IsAccepted()
    {
        var summary = SeriesSummary.FromPoints([new Point(Start, 1)]);
        summary.Append(SeriesSummary.FromPoints([new Point(Start, 4)]));

        Assert.Equal(3, summary.Increase);
    }

    [Fact]
    public void Append_DoesNotChangeTheAppendedSummary()
    {
        var later = SeriesSummary.FromPoints(Series(Start + 100_000, 4, 5));
        var summary = Restored(SeriesSummary.FromPoints(Series(Start, 1, 2, 3)));
        summary.Append(later);
        summary.Add(new Point(Start + 500_000, 9));

        AssertSameNumbers(SeriesSummary.FromPoints(Series(Start + 100_000, 4, 5)), later);
        Assert.Equal(2, later.Sketch.Count);
        Assert.Equal(new double[] { 4, 5 }, later.ExactValues!);
    }

    public static TheoryData<string, long, double, double, long, long, QuantileSketch?> BadRestores => new()
    {
        { "negative count", -1, 1, 2, 0, 0, new QuantileSketch() },
        { "min above max", 2, 3, 2, 0, 0, new QuantileSketch() },
        { "last before first", 2, 1, 2, 10, 5, new QuantileSketch() },
        { "sketch holds more than the count", 0, 1, 2, 0, 0, OneValue() },
        { "no sketch", 1, 1, 1, 0, 0, null },
    };

    private static QuantileSketch OneValue()
    {
        var sketch = new QuantileSketch();
        sketch.Add(1);
        return sketch;
    }

    [Theory]
    [MemberData(nameof(BadRestores))]
    public void Restore_ContradictoryNumbers_Throws(string scenario, long count, double min, double max, long firstTs, long lastTs, QuantileSketch? sketch)
    {
        Assert.True(scenario.Length > 0);
        Assert.ThrowsAny<ArgumentException>(() => SeriesSummary.Restore(count, 3, min, max, firstTs, 1, lastTs, 2, 1, sketch!));
    }

    [Fact]
    public void MergeSeries_TwoDenominatorSignals_PoolsTheirSamples()
    {
        var errors = Series(Start, 1, 2, 5);
        var successes = Series(Start + 5_000, 99, 98, 100, 101);
        var pooled = SeriesSummary.FromPoints(errors);
        pooled.MergeSeries(Restored(SeriesSummary.FromPoints(successes)));

        Assert.Equal(7, pooled.Count);
        Assert.Equal(406, pooled.Sum);
        Assert.Equal(1, pooled.Min);
        Assert.Equal(101, pooled.Max);
        Assert.Equal(Start, pooled.FirstTimestampMs);
        Assert.Equal(Start + 35_000, pooled.LastTimestampMs);
        Assert.Equal(101, pooled.LastValue);
        // Each signal's own increase: 1 -> 2 -> 5 is 4; 99 -> 98 (reset, 98) -> 100 -> 101 is 101.
        Assert.Equal(105, pooled.Increase);
        Assert.Equal(7, pooled.Sketch.Count);
    }

    public static TheoryData<Aggregate> AllAggregates()
    {
        var data = new TheoryData<Aggregate>();
        foreach (var aggregate in Enum.GetValues<Aggregate>())
        {
            data.Add(aggregate);
        }

        return data;
    }

    private static bool IsQuantile(Aggregate aggregate) =>
        aggregate is Aggregate.P50 or Aggregate.P90 or Aggregate.P95 or Aggregate.P99;

    private static double QuantileOf(Aggregate aggregate) => aggregate switch
    {
        Aggregate.P50 => 0.50,
        Aggregate.P90 => 0.90,
        Aggregate.P95 => 0.95,
        _ => 0.99,
    };

    [Theory]
    [MemberData(nameof(AllAggregates))]
    public void Compute_OverAppendedSummaries_EqualsComputeOverTheList(Aggregate aggregate)
    {
        var random = new Random(100 + (int)aggregate);
        for (var round = 0; round < 150; round++)
        {
            var counter = aggregate is Aggregate.Increase or Aggregate.Rate || round % 2 == 0;
            var points = RandomSeries(random, random.Next(0, 200), counter);
            var first = RandomSeries(random, random.Next(0, 50), counter: false);
            var second = RandomSeries(random, random.Next(0, 50), counter: false);
            var denominator = first.Concat(second).ToList();
            var expected = Aggregates.Compute(aggregate, points, denominator);

            var pieces = Split(random, points, random.Next(1, 10));
            var pooled = Appended(Split(random, first, 3).Select(SeriesSummary.FromPoints));
            pooled.MergeSeries(Appended(Split(random, second, 3).Select(p => Restored(SeriesSummary.FromPoints(p)))));

            // Raw pieces keep exact values: every aggregate is exactly the list's.
            var raw = Appended(pieces.Select(SeriesSummary.FromPoints));
            Assert.Equal(expected, Aggregates.Compute(aggregate, raw, pooled));

            // Restored pieces: exact for all but quantiles, which come from the sketch.
            var restored = Appended(pieces.Select(p => Restored(SeriesSummary.FromPoints(p))));
            var actual = Aggregates.Compute(aggregate, restored, pooled);
            if (!IsQuantile(aggregate) || expected is null)
            {
                Assert.Equal(expected, actual);
                continue;
            }

            var sorted = points.Select(p => p.Value).Where(v => !double.IsNaN(v)).Order().ToArray();
            var rank = QuantileOf(aggregate) * (sorted.Length - 1);
            var bound = Math.Max(Math.Abs(sorted[(int)Math.Floor(rank)]), Math.Abs(sorted[(int)Math.Ceiling(rank)]));
            Assert.NotNull(actual);
            Assert.True(Math.Abs(actual.Value - expected.Value) <= 0.01 * bound, $"{aggregate}: sketch {actual} vs exact {expected}");
        }
    }

    public static TheoryData<Aggregate, double?> FewSamples => new()
    {
        { Aggregate.Increase, null },
        { Aggregate.Rate, null },
        { Aggregate.P99, 7 },
        { Aggregate.Avg, 7 },
        { Aggregate.Count, 1 },
        { Aggregate.Ratio, null },
    };

    [Theory]
    [MemberData(nameof(FewSamples))]
    public void Compute_OneRestoredSample_MatchesTheListRules(Aggregate aggregate, double? expected)
    {
        var summary = Restored(SeriesSummary.FromPoints([new Point(Start, 7)]));

        var actual = Aggregates.Compute(aggregate, summary, null);

        if (expected is { } e)
        {
            Assert.Equal(e, actual!.Value, e * 0.01);
        }
        else
        {
            Assert.Null(actual);
        }
    }

    [Fact]
    public void Compute_RateOverAppendedSummaries_DividesByTheWholeSpan()
    {
        var summary = SeriesSummary.FromPoints(Series(Start, 10, 15));
        summary.Append(Restored(SeriesSummary.FromPoints(Series(Start + 20_000, 3, 8))));

        // Increase 13 over 30 s.
        Assert.Equal(13.0 / 30, Aggregates.Compute(Aggregate.Rate, summary, null)!.Value, 1e-12);
    }

    [Fact]
    public void KpiSamples_FromLists_CountsUsableSamples()
    {
        var samples = new KpiSamples(Series(Start, 1, double.NaN, 2), [new Point(Start, 4), new Point(Start - 5, 6)]);

        Assert.Equal(2, samples.Points.Count);
        Assert.Equal(new double[] { 1, 2 }, samples.Points.ExactValues!);
        Assert.Equal(10, samples.Denominator.Sum);
    }
}
