using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class QuantileSketchTests
{
    private static readonly double[] Quantiles = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

    public static TheoryData<string> Distributions => new()
    {
        "uniform",
        "lognormal",
        "bimodal",
        "negatives and zeros",
        "only negatives",
        "constant",
        "integers with ties",
    };

    /// <summary>Draws one value of the named distribution.</summary>
    private static double Draw(string distribution, Random random) => distribution switch
    {
        "uniform" => random.NextDouble() * 1000,
        "lognormal" => Math.Exp(3 + (1.5 * Normal(random))),
        // Latencies with a fast path and a slow path: 70 % around 10 ms, 30 % around 500 ms.
        "bimodal" => random.NextDouble() < 0.7 ? 10 + Normal(random) : 500 + (50 * Normal(random)),
        // Deltas around zero, a tenth of them exactly zero.
        "negatives and zeros" => random.NextDouble() < 0.1 ? 0 : 100 * Normal(random),
        "only negatives" => -Math.Exp(2 + Normal(random)),
        "constant" => 42.5,
        "integers with ties" => random.Next(-3, 20),
        _ => throw new ArgumentOutOfRangeException(nameof(distribution), distribution, "unknown test distribution"),
    };

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>
    /// The 1 % promise: the exact value interpolates between the values at ranks floor and ceil of q(n-1); the
    /// sketch must be within 1 % of it, measured against the larger magnitude of those two (which is the exact
    /// value itself unless they straddle zero).
    /// </summary>
    private static void AssertWithinOnePercent(double[] sorted, double q, double? actual, string what)
    {
        Assert.NotNull(actual);
        var rank = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        var exact = sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
        var tolerance = 0.01 * Math.Max(Math.Abs(sorted[lo]), Math.Abs(sorted[hi]));
        Assert.True(
            Math.Abs(actual.Value - exact) <= tolerance,
            $"{what}: q={q} sketch {actual.Value} vs exact {exact} (tolerance {tolerance})");
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Quantile_After720Merges_IsWithinOnePercentOfExact(string distribution)
    {
        // 720 rollups (a 30-day window of hourly rollups) of 100 samples each.
        var random = new Random(distribution.Length * 7919);
        var all = new List<double>();
        var parts = new List<QuantileSketch>();
        for (var part = 0; part < 720; part++)
        {
            var sketch = new QuantileSketch();
            for (var i = 0; i < 100; i++)
            {
                var value = Draw(distribution, random);
                sketch.Add(value);
                all.Add(value);
            }

            parts.Add(sketch);
        }

        var merged = new QuantileSketch();
        var fromBytes = new QuantileSketch();
        var mergedFromBytes = new QuantileSketch();
        foreach (var part in parts)
        {
            merged.Merge(part);
            fromBytes.Merge(QuantileSketch.FromBytes(part.ToBytes()));
            mergedFromBytes.MergeFrom(part.ToBytes());
        }

        var sorted = all.Order().ToArray();
        Assert.Equal(72_000, merged.Count);
        foreach (var q in Quantiles)
        {
            AssertWithinOnePercent(sorted, q, merged.Quantile(q), $"{distribution}, merged");
        }

        // However the parts travelled, the merge is the same sketch.
        Assert.Equal(merged.ToBytes(), fromBytes.ToBytes());
        Assert.Equal(merged.ToBytes(), mergedFromBytes.ToBytes());
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Quantile_SmallSample_IsWithinOnePercentOfExact(string distribution)
    {
        var random = new Random(distribution.Length);
        var values = Enumerable.Range(0, 7).Select(_ => Draw(distribution, random)).ToArray();
        var sketch = new QuantileSketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        var sorted = values.Order().ToArray();
        foreach (var q in Quantiles)
        {
            AssertWithinOnePercent(sorted, q, sketch.Quantile(q), distribution);
        }
    }

    [Fact]
    public void Quantile_TwoValuesStraddlingZero_InterpolatesLikeTheExactQuantile()
    {
        var sketch = new QuantileSketch();
        sketch.Add(-100);
        sketch.Add(300);

        // Exact p50 of {-100, 300} is 100; p25 is 0.
        Assert.Equal(100, sketch.Quantile(0.5)!.Value, 100 * 0.01);
        Assert.Equal(0, sketch.Quantile(0.25)!.Value, 300 * 0.01);
        Assert.Equal(-100, sketch.Quantile(0)!.Value, 100 * 0.01);
        Assert.Equal(300, sketch.Quantile(1)!.Value, 300 * 0.01);
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Clear_ThenReused_EqualsAFreshSketch(string distribution)
    {
        var random = new Random(7);
        var reused = new QuantileSketch();
        // First a wide range and more values than a ushort count holds (the store widens its counts), then others.
        for (var i = 0; i < 70_000; i++)
        {
            reused.Add(i % 3 == 0 ? -Math.Exp(random.NextDouble() * 40) : i % 3 == 1 ? 0 : Math.Exp(random.NextDouble() * 40));
        }

        foreach (var n in new[] { 1, 5, 1_000 })
        {
            reused.Clear();
            Assert.Equal(0, reused.Count);
            Assert.Null(reused.Quantile(0.5));
            var fresh = new QuantileSketch();
            for (var i = 0; i < n; i++)
            {
                var value = Draw(distribution, random);
                reused.Add(value);
                fresh.Add(value);
            }

            Assert.Equal(fresh.ToBytes(), reused.ToBytes());
            Assert.Equal(fresh.Quantile(0.99), reused.Quantile(0.99));

            // A merge into a cleared sketch reserves its range over the kept array, which must be all zeros.
            reused.Clear();
            reused.Merge(fresh);
            Assert.Equal(fresh.ToBytes(), reused.ToBytes());
        }
    }

    [Fact]
    public void Quantile_Empty_IsNull()
    {
        Assert.Null(new QuantileSketch().Quantile(0.5));
        Assert.Null(QuantileSketch.FromBytes(new QuantileSketch().ToBytes()).Quantile(0.99));
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void Quantile_OutsideZeroToOne_Throws(double q)
    {
        var sketch = new QuantileSketch();
        sketch.Add(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => sketch.Quantile(q));
    }

    [Fact]
    public void Add_NaNAndInfinities_AreNotCounted()
    {
        var sketch = new QuantileSketch();
        sketch.Add(double.NaN);
        sketch.Add(double.PositiveInfinity);
        sketch.Add(double.NegativeInfinity);
        sketch.Add(5);

        Assert.Equal(1, sketch.Count);
        Assert.Equal(5, sketch.Quantile(1)!.Value, 5 * 0.01);
    }

    [Fact]
    public void Add_ExtremeFiniteValues_StayFiniteAndOrdered()
    {
        var sketch = new QuantileSketch();
        sketch.Add(double.MaxValue);
        sketch.Add(double.MinValue);
        sketch.Add(double.Epsilon); // subnormal: counted as zero
        sketch.Add(-0.0);

        Assert.Equal(4, sketch.Count);
        Assert.Equal(double.MinValue, sketch.Quantile(0)!.Value, Math.Abs(double.MinValue) * 0.01);
        Assert.Equal(0, sketch.Quantile(1 / 3.0)!.Value);
        Assert.Equal(0, sketch.Quantile(2 / 3.0)!.Value);
        Assert.Equal(double.MaxValue, sketch.Quantile(1)!.Value, double.MaxValue * 0.01);
        Assert.True(double.IsFinite(sketch.Quantile(1)!.Value));
    }

    /// <summary>Log-uniform magnitudes over 24 decades: far more than the 2048 buckets (about 8.9 decades) a store keeps.</summary>
    private static double[] WideRange(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Math.Pow(10, -12 + (24 * random.NextDouble()))).ToArray();
    }

    [Fact]
    public void Add_RangeBeyondTheBucketCap_KeepsHighQuantilesAndCollapsesLowOnesUpwards()
    {
        var values = WideRange(50_000, 11);
        var sketch = new QuantileSketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        var sorted = values.Order().ToArray();
        Assert.Equal(values.Length, sketch.Count);
        // Kept: the top 2048 buckets reach down to about 1e12 / 7.8e8 = 1.3e3, i.e. the top ~63 % of this sample.
        foreach (var q in new[] { 0.7, 0.9, 0.99, 1 })
        {
            AssertWithinOnePercent(sorted, q, sketch.Quantile(q), "kept range");
        }

        // Collapsed: reported as the lowest kept bucket, never below the exact value.
        var lowest = sketch.Quantile(0)!.Value;
        Assert.InRange(lowest, 1e3, 1.5e3);
        Assert.True(sketch.Quantile(0.1)!.Value >= sorted[(int)(0.1 * (sorted.Length - 1))]);
        // At most 2048 buckets of a few bytes each.
        Assert.True(sketch.ToBytes().Length < 2048 * 6, $"{sketch.ToBytes().Length} bytes");
    }

    [Fact]
    public void Add_NegativeRangeBeyondTheBucketCap_CollapsesTheValuesNearestZero()
    {
        var values = WideRange(20_000, 12).Select(v => -v).ToArray();
        var sketch = new QuantileSketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        var sorted = values.Order().ToArray();
        foreach (var q in new[] { 0, 0.01, 0.1, 0.3 })
        {
            AssertWithinOnePercent(sorted, q, sketch.Quantile(q), "kept range");
        }

        Assert.InRange(sketch.Quantile(1)!.Value, -1.5e3, -1e3);
    }

    [Fact]
    public void Add_InAnyOrderOrSplitAndMerged_GivesTheSameSketchEvenWhenCollapsing()
    {
        var values = WideRange(20_000, 13).Concat(WideRange(5_000, 14).Select(v => -v)).ToArray();
        QuantileSketch Of(IEnumerable<double> sequence)
        {
            var sketch = new QuantileSketch();
            foreach (var value in sequence)
            {
                sketch.Add(value);
            }

            return sketch;
        }

        var expected = Of(values).ToBytes();
        Assert.Equal(expected, Of(values.Order()).ToBytes());
        Assert.Equal(expected, Of(values.OrderDescending()).ToBytes());

        // A growing counter's worth of merges: small parts first, then larger ones, then the reverse.
        var ascending = values.Order().ToArray();
        foreach (var parts in new[] { 7, 100, 1000 })
        {
            var merged = new QuantileSketch();
            var reversed = new QuantileSketch();
            var chunks = ascending.Chunk((ascending.Length / parts) + 1).Select(Of).ToList();
            foreach (var chunk in chunks)
            {
                merged.Merge(chunk);
            }

            for (var i = chunks.Count - 1; i >= 0; i--)
            {
                reversed.MergeFrom(chunks[i].ToBytes());
            }

            Assert.Equal(expected, merged.ToBytes());
            Assert.Equal(expected, reversed.ToBytes());
        }
    }

    [Fact]
    public void Merge_Itself_DoublesEveryCount()
    {
        var sketch = new QuantileSketch();
        foreach (var value in new double[] { -3, 0, 1, 2, 1000 })
        {
            sketch.Add(value);
        }

        var twice = new QuantileSketch();
        twice.Merge(sketch);
        twice.Merge(sketch);
        sketch.Merge(sketch);

        Assert.Equal(10, sketch.Count);
        Assert.Equal(twice.ToBytes(), sketch.ToBytes());
    }

    [Fact]
    public void Merge_CountsBeyondAnInt_StayExactThroughBytesAndFurtherMerges()
    {
        // Counts start as ints and move to longs when a store's total passes int.MaxValue; doubling a sketch 31
        // times takes its buckets to 2^31 (and the total past it) without 2^31 Add calls.
        var sketch = new QuantileSketch();
        foreach (var value in new double[] { -4, 0, 1, 2, 3 })
        {
            sketch.Add(value);
        }

        var narrow = QuantileSketch.FromBytes(sketch.ToBytes());
        for (var i = 0; i < 31; i++)
        {
            sketch.Merge(sketch);
        }

        Assert.Equal(5L << 31, sketch.Count);
        AssertNear(-4, sketch.Quantile(0));
        AssertNear(1, sketch.Quantile(0.5));
        AssertNear(3, sketch.Quantile(1));

        // A narrow sketch takes the wide one in both ways of merging, and the bytes say the same counts.
        var bytes = sketch.ToBytes();
        Assert.Equal(bytes, QuantileSketch.FromBytes(bytes).ToBytes());
        var merged = QuantileSketch.FromBytes(narrow.ToBytes());
        merged.Merge(sketch);
        var mergedFromBytes = QuantileSketch.FromBytes(narrow.ToBytes());
        mergedFromBytes.MergeFrom(bytes);
        Assert.Equal((5L << 31) + 5, merged.Count);
        Assert.Equal(merged.ToBytes(), mergedFromBytes.ToBytes());

        // The wide sketch still grows its range and collapses beyond the cap, keeping every count.
        merged.Add(1e300);
        merged.Add(1e-300);
        Assert.Equal((5L << 31) + 7, merged.Count);
        AssertNear(1e300, merged.Quantile(1));
        AssertNear(-4, merged.Quantile(0));
    }

    [Fact]
    public void Merge_BucketsPastAUshort_StayExactThroughBytes()
    {
        // Counts start as ushorts and move to ints when a store's total passes 65,535: 70,000 ones must not wrap to
        // 4,464 and leave the median among the twos.
        var ones = new QuantileSketch();
        for (var i = 0; i < 60_000; i++)
        {
            ones.Add(1);
        }

        var mixed = new QuantileSketch();
        for (var i = 0; i < 10_000; i++)
        {
            mixed.Add(1);
            mixed.Add(2);
        }

        var merged = QuantileSketch.FromBytes(ones.ToBytes());
        merged.Merge(mixed);
        var mergedFromBytes = QuantileSketch.FromBytes(mixed.ToBytes());
        mergedFromBytes.MergeFrom(ones.ToBytes());
        var added = QuantileSketch.FromBytes(mixed.ToBytes());
        for (var i = 0; i < 60_000; i++)
        {
            added.Add(1);
        }

        foreach (var sketch in new[] { merged, mergedFromBytes, added, QuantileSketch.FromBytes(merged.ToBytes()) })
        {
            Assert.Equal(80_000, sketch.Count);
            AssertNear(1, sketch.Quantile(0.5));
            AssertNear(1, sketch.Quantile(0.87));
            AssertNear(2, sketch.Quantile(0.88));
        }

        Assert.Equal(merged.ToBytes(), mergedFromBytes.ToBytes());
        Assert.Equal(merged.ToBytes(), added.ToBytes());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergeFrom_AnHourOfSamples_HoldsTwoBytesABucketOrOneWhenCompact(bool compact)
    {
        // The open hours' sketches are most of what the writer keeps in memory: 3,600 latencies over 900 buckets
        // (0.1 ms to 9 ms) put a few in each bucket, so they must cost about 2 bytes a bucket, and 1 in a compact sketch.
        var sketch = new QuantileSketch();
        var random = new Random(5);
        for (var i = 0; i < 3_600; i++)
        {
            sketch.Add(0.0001 * Math.Pow(90, random.NextDouble()));
        }

        var bytes = sketch.ToBytes();
        QuantileSketch Copy()
        {
            var copy = compact ? QuantileSketch.Compact() : new QuantileSketch();
            copy.MergeFrom(bytes);
            return copy;
        }

        _ = Copy(); // the first call's one-time costs are not the sketch's
        var before = GC.GetAllocatedBytesForCurrentThread();
        var copy = Copy();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(3_600, copy.Count);
        var buckets = (int)Math.Ceiling(Math.Log(90) / Math.Log((1 + QuantileSketch.RelativeAccuracy) / (1 - QuantileSketch.RelativeAccuracy)));
        var width = compact ? 1 : 2;
        Assert.InRange(allocated, width * (buckets - 2), (width * buckets) + 400);
        Assert.Equal(bytes, copy.ToBytes());
    }

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Compact_AddedMergedOrMergedFromBytes_GivesThePlainSketchsBytesAndQuantiles(string distribution)
    {
        // 20 parts of 400 values (an hour's batches): the plain sketch and the compact one, each built by adding, by
        // merging the parts and by merging their bytes, must agree bucket for bucket, past a byte in the busy buckets.
        var random = new Random(11);
        var parts = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, 400).Select(_ => Draw(distribution, random)).ToArray()).ToArray();
        var plain = new QuantileSketch();
        var built = new[] { QuantileSketch.Compact(), QuantileSketch.Compact(), QuantileSketch.Compact() };
        foreach (var part in parts)
        {
            var piece = QuantileSketch.Compact();
            foreach (var v in part)
            {
                plain.Add(v);
                built[0].Add(v);
                piece.Add(v);
            }

            built[1].Merge(piece);
            built[2].MergeFrom(piece.ToBytes());
        }

        foreach (var compact in built)
        {
            Assert.Equal(plain.Count, compact.Count);
            Assert.Equal(plain.ToBytes(), compact.ToBytes());
            foreach (var q in Quantiles)
            {
                Assert.Equal(plain.Quantile(q), compact.Quantile(q));
            }
        }
    }

    [Fact]
    public void Compact_ABucketPastAByteInAStoreOfMoreThanAUshort_StaysThePlainSketch()
    {
        // 300 buckets of 240 each (72,000 values: a total past a ushort while every bucket is still a byte), then one
        // bucket passes 255: the counts move to the width the total needs, and stay the plain sketch's bucket for bucket.
        var compact = QuantileSketch.Compact();
        var plain = new QuantileSketch();
        for (var k = 0; k < 300; k++)
        {
            for (var i = 0; i < 240; i++)
            {
                compact.Add(Math.Pow(1.02, k));
                plain.Add(Math.Pow(1.02, k));
            }
        }

        for (var i = 0; i < 20; i++)
        {
            compact.Add(1);
            plain.Add(1);
        }

        Assert.Equal(72_020, compact.Count);
        Assert.Equal(plain.ToBytes(), compact.ToBytes());
        foreach (var q in Quantiles)
        {
            Assert.Equal(plain.Quantile(q), compact.Quantile(q));
        }

        // The lowest bucket holds 260 of 72,020: the 260th smallest value is 1, the 261st is not.
        AssertNear(1, compact.Quantile(259.0 / 72_019));
        Assert.True(compact.Quantile(260.0 / 72_019) > 1.01);
    }

    [Fact]
    public void Add_FirstNegativeValue_MakesTheNegativesStoreOnlyThen()
    {
        // Most signals never go negative, and the writer keeps an open hour's sketch per series: the negatives' store
        // is made by the first negative value, so that value costs a store and its array where the first positive
        // value costs only its array.
        static long Allocated(Action build)
        {
            build(); // one-time costs (JIT, statics) are not the sketch's
            var before = GC.GetAllocatedBytesForCurrentThread();
            build();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        var empty = Allocated(() => _ = new QuantileSketch());
        var positive = Allocated(() => new QuantileSketch().Add(5));
        var both = Allocated(() =>
        {
            var s = new QuantileSketch();
            s.Add(5);
            s.Add(-5);
        });

        Assert.True(both - positive > positive - empty, $"a sketch alone {empty} B, with a positive value {positive} B, and a negative one {both} B");
        var sketch = new QuantileSketch();
        sketch.Add(5);
        sketch.Add(-5);
        Assert.Equal(-5, sketch.Quantile(0)!.Value, 5 * QuantileSketch.RelativeAccuracy);
        Assert.Equal(sketch.ToBytes(), QuantileSketch.FromBytes(sketch.ToBytes()).ToBytes());
    }

    /// <summary>300 ones and 200 twos, every way a compact sketch can get them; the median is 1 only if no count of 300
    /// wrapped at a byte (to 44, which would put the median among the twos).</summary>
    public static TheoryData<string> PastAByteWays => new() { "added", "merged", "merged from bytes", "collapsed", "merged into bytes" };

    [Theory]
    [MemberData(nameof(PastAByteWays))]
    public void Merge_ABucketPastAByte_StaysExact(string way)
    {
        static QuantileSketch Of(params (double Value, int Times)[] values)
        {
            var s = QuantileSketch.Compact();
            foreach (var (value, times) in values)
            {
                for (var i = 0; i < times; i++)
                {
                    s.Add(value);
                }
            }

            return s;
        }

        QuantileSketch sketch;
        switch (way)
        {
            case "added":
                sketch = Of((1, 300), (2, 200));
                break;
            case "merged":
                // Each part fits bytes; their sum in the ones' bucket does not.
                sketch = Of((1, 150), (2, 100));
                sketch.Merge(Of((1, 150), (2, 100)));
                break;
            case "merged from bytes":
                sketch = Of((1, 150), (2, 100));
                sketch.MergeFrom(Of((1, 150), (2, 100)).ToBytes());
                break;
            case "merged into bytes":
                // A store in bytes takes a store in wider counts whose buckets it cannot hold.
                sketch = Of((2, 200));
                sketch.Merge(Of((1, 300)));
                break;
            default:
                // Values spread over more buckets than a store keeps (a range of about 7.8e8): 1e10 folds the ones and
                // the one-and-a-halves into the lowest bucket kept (about 12.9), 150 + 150 there; 1e8 stays apart.
                sketch = Of((1, 150), (1.5, 150), (1e8, 200));
                sketch.Add(1e10);
                Assert.Equal(501, sketch.Count);
                Assert.Equal(sketch.Quantile(0), sketch.Quantile(299.0 / 500));
                Assert.NotEqual(sketch.Quantile(0), sketch.Quantile(300.0 / 500));
                var collapsed = QuantileSketch.FromBytes(sketch.ToBytes());
                Assert.Equal(sketch.Quantile(299.0 / 500), collapsed.Quantile(299.0 / 500));
                Assert.NotEqual(collapsed.Quantile(0), collapsed.Quantile(300.0 / 500));
                return;
        }

        foreach (var s in new[] { sketch, QuantileSketch.FromBytes(sketch.ToBytes()) })
        {
            Assert.Equal(500, s.Count);
            AssertNear(1, s.Quantile(0.5));
            AssertNear(1, s.Quantile(299.0 / 499));
            AssertNear(2, s.Quantile(300.0 / 499));
        }

        Assert.Equal(Of((2, 200), (1, 300)).ToBytes(), sketch.ToBytes());
    }

    private static void AssertNear(double expected, double? actual) =>
        Assert.True(
            actual is { } a && Math.Abs(a - expected) <= Math.Abs(expected) * QuantileSketch.RelativeAccuracy,
            $"expected {expected} within {QuantileSketch.RelativeAccuracy:P1}, got {actual}");

    public static TheoryData<string, double[]> RoundTripCases => new()
    {
        { "empty", [] },
        { "one value", [3.25] },
        { "only zeros", [0, 0, -0.0] },
        { "mixed", [-1e9, -5, -5, 0, 1e-6, 7, 7, 7, 1e300] },
    };

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void FromBytes_OfToBytes_GivesTheSameSketch(string scenario, double[] values)
    {
        var sketch = new QuantileSketch();
        foreach (var value in values)
        {
            sketch.Add(value);
        }

        var bytes = sketch.ToBytes();
        var back = QuantileSketch.FromBytes(bytes);

        Assert.True(scenario.Length > 0);
        Assert.Equal(sketch.Count, back.Count);
        Assert.Equal(bytes, back.ToBytes());
        foreach (var q in Quantiles)
        {
            Assert.Equal(sketch.Quantile(q), back.Quantile(q));
        }
    }

    [Fact]
    public void ToBytes_OneValue_IsAFewBytes()
    {
        var sketch = new QuantileSketch();
        sketch.Add(120);

        // Version, zero count, positive: 1 bucket, index (2 bytes), span, count; negative: 0 buckets.
        Assert.Equal(8, sketch.ToBytes().Length);
    }

    [Fact]
    public void FromBytes_EveryTruncation_IsAFormatException()
    {
        var sketch = new QuantileSketch();
        var random = new Random(5);
        for (var i = 0; i < 500; i++)
        {
            sketch.Add(Draw("negatives and zeros", random));
        }

        var bytes = sketch.ToBytes();
        for (var length = 0; length < bytes.Length; length++)
        {
            var error = Assert.Throws<FormatException>(() => QuantileSketch.FromBytes(bytes.AsSpan(0, length)));
            Assert.Contains("quantile sketch bytes", error.Message);
        }
    }

    [Fact]
    public void FromBytes_RandomAndCorruptedBytes_AreAFormatExceptionOrASketch()
    {
        var random = new Random(17);
        var valid = new QuantileSketch();
        for (var i = 0; i < 300; i++)
        {
            valid.Add(Draw("lognormal", random));
        }

        var good = valid.ToBytes();
        var rejected = 0;
        for (var round = 0; round < 20_000; round++)
        {
            byte[] bytes;
            if (round % 2 == 0)
            {
                bytes = new byte[random.Next(0, 48)];
                random.NextBytes(bytes);
                if (bytes.Length > 0 && round % 4 == 0)
                {
                    bytes[0] = QuantileSketch.FormatVersion;
                }
            }
            else
            {
                bytes = (byte[])good.Clone();
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            try
            {
                var sketch = QuantileSketch.FromBytes(bytes);
                // Whatever was accepted is a usable sketch.
                _ = sketch.Quantile(0.5);
                Assert.Equal(sketch.ToBytes(), QuantileSketch.FromBytes(sketch.ToBytes()).ToBytes());
            }
            catch (FormatException)
            {
                rejected++;
            }
        }

        Assert.True(rejected > 5_000, $"only {rejected} rejected");
    }

    public static TheoryData<string, byte[], string> CorruptCases => new()
    {
        { "empty", [], "empty" },
        { "wrong version", [2, 0, 0, 0], "version 2" },
        { "trailing byte", [1, 0, 0, 0, 0], "unexpected byte" },
        { "zero-count bucket", [1, 0, 1, 0, 0, 0], "count 0" },
        { "varint longer than 10 bytes", [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0, 0], "64 bits" },
        { "too many buckets", [1, 0, 0x81, 0x10, 0], "more than the 2048" },
        // Index 2^31 (zigzag 2^32): beyond any finite value.
        { "index out of range", [1, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0], "outside the range" },
        { "span wider than a store", [1, 0, 2, 0, 0x80, 0x10, 1, 0, 1, 0], "cannot hold" },
        { "span too short for the buckets", [1, 0, 3, 0, 1, 1, 0, 1, 0, 1, 0], "cannot hold" },
        { "bucket beyond the declared last index", [1, 0, 2, 0, 1, 1, 1, 1, 0], "beyond the declared last index" },
        { "buckets ending before the declared last index", [1, 0, 1, 0, 5, 1, 0], "not at the declared last index" },
        { "counts overflowing", [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 0, 0, 2, 0], "overflow" },
    };

    [Theory]
    [MemberData(nameof(CorruptCases))]
    public void FromBytes_Corrupt_SaysWhatIsWrong(string scenario, byte[] bytes, string expected)
    {
        var error = Assert.Throws<FormatException>(() => QuantileSketch.FromBytes(bytes));

        Assert.True(scenario.Length > 0);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void MergeFrom_CorruptBytes_LeavesTheSketchUnchanged()
    {
        var sketch = new QuantileSketch();
        sketch.Add(1);
        sketch.Add(2);
        var other = new QuantileSketch();
        for (var i = 1; i <= 100; i++)
        {
            other.Add(i);
        }

        var before = sketch.ToBytes();
        var truncated = other.ToBytes()[..^1];

        Assert.Throws<FormatException>(() => sketch.MergeFrom(truncated));
        Assert.Equal(before, sketch.ToBytes());
    }

    [Fact]
    public void MergeFrom_NegativeStoreCorruptAfterAGoodPositiveOne_LeavesTheSketchUnchangedAndMergesTheNextBytes()
    {
        // MergeFrom parses both stores before it merges either: a fault in the second store must not leave the first
        // merged, and the buckets it parsed must not leak into the next merge.
        var sketch = new QuantileSketch();
        sketch.Add(1);
        sketch.Add(-2);
        var other = new QuantileSketch();
        for (var i = 1; i <= 100; i++)
        {
            other.Add(i * 1.5);
            other.Add(-i);
        }

        var before = sketch.ToBytes();
        var good = other.ToBytes();

        Assert.Throws<FormatException>(() => sketch.MergeFrom(good.AsSpan(0, good.Length - 1)));
        Assert.Equal(before, sketch.ToBytes());

        var small = new QuantileSketch();
        small.Add(3);
        sketch.MergeFrom(small.ToBytes());
        var expected = new QuantileSketch();
        foreach (var value in new[] { 1.0, -2, 3 })
        {
            expected.Add(value);
        }

        Assert.Equal(expected.ToBytes(), sketch.ToBytes());
    }

    public static TheoryData<string, long, long[], long[]> HandWrittenSketches => new()
    {
        // name, zero count, then the positive and the negative store as (bucket index, count) pairs.
        { "empty", 0, [], [] },
        { "zeros only", 7, [], [] },
        { "two positive buckets with a gap", 3, [5, 2, 8, 1], [] },
        { "narrow counts, long gaps, both stores", 1, [-40, 1, 300, 65_535, 301, 1], [2, 9, 1_000, 4] },
        { "int counts", 0, [-3, 70_000, 100, 1], [] },
        { "long counts", 2, [10, 5_000_000_000, 11, 3], [-1, 1] },
    };

    [Theory]
    [MemberData(nameof(HandWrittenSketches))]
    public void ToBytes_HandWrittenEncoding_IsWrittenBackByteForByte(string name, long zero, long[] positive, long[] negative)
    {
        // The format written by hand from ToBytes' documentation (LEB128 varints; per store the bucket count, the first
        // index zigzagged, the last minus the first, the first count, then gap minus one and count), read by
        // FromBytes and written again: the encoder must give back the same bytes.
        var bytes = new List<byte> { QuantileSketch.FormatVersion };
        Varint(bytes, (ulong)zero);
        foreach (var store in new[] { positive, negative })
        {
            Varint(bytes, (ulong)(store.Length / 2));
            if (store.Length > 0)
            {
                Varint(bytes, (ulong)((store[0] << 1) ^ (store[0] >> 63)));
                Varint(bytes, (ulong)(store[^2] - store[0]));
                Varint(bytes, (ulong)store[1]);
                for (var i = 2; i < store.Length; i += 2)
                {
                    Varint(bytes, (ulong)(store[i] - store[i - 2] - 1));
                    Varint(bytes, (ulong)store[i + 1]);
                }
            }
        }

        var written = bytes.ToArray();

        Assert.True(written.Length > 1, name);
        Assert.Equal(written, QuantileSketch.FromBytes(written).ToBytes());
    }

    private static void Varint(List<byte> bytes, ulong value)
    {
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
    }
}
