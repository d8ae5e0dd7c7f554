using FsCheck;
using FsCheck.Fluent;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests.Chunks;

/// <summary>A chunk's worth of points, as FsCheck generates them for the codec's properties.</summary>
public sealed record ChunkSeries(Point[] Points)
{
    public override string ToString() =>
        $"{Points.Length} points: " + string.Join(", ", Points.Take(40).Select(p => $"({p.TimestampMs}, 0x{BitConverter.DoubleToInt64Bits(p.Value):X16})"));
}

/// <summary>
/// Generators of series that are hard for a time-series codec: timestamps regular with jitter, repeated, out of
/// order, jumping across the whole long range, negative; values from real-looking short decimals to special doubles
/// (NaN with any payload, infinities, -0, the smallest subnormal, the extremes) and random bit patterns, in runs.
/// </summary>
public static class ChunkArbitraries
{
    public static readonly double[] Specials =
    [
        double.NaN, -double.NaN, BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001), // a signalling NaN payload
        BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_DEAD_BEEF_0001)), double.PositiveInfinity,
        double.NegativeInfinity, -0.0, 0.0, double.Epsilon, -double.Epsilon, double.MaxValue, double.MinValue, 1, 0,
    ];

    public static Arbitrary<ChunkSeries> Series() => Gen.Sized(size => Gen.Choose(0, Math.Max(1, size * 6)))
        .SelectMany(n => Gen.Zip(Timestamps(n), Values(n)))
        .Select(tv => new ChunkSeries(tv.Item1.Zip(tv.Item2, (t, v) => new Point(t, v)).ToArray()))
        .ToArbitrary();

    private static Gen<long> AnyLong => Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue))
        .Select(hl => ((long)hl.Item1 << 32) | (uint)hl.Item2);

    private static Gen<long[]> Timestamps(int n) => Gen.Frequency(
        (4, Gen.Zip(Gen.Zip(Gen.Choose(-2_000_000, 2_000_000), Gen.Elements(1_000, 10_000, 60_000)), Gen.Choose(0, 9).ArrayOf(n))
            .Select(t => Regular(t.Item1.Item1 * 1_000_000L, t.Item1.Item2, t.Item2))),
        (1, AnyLong.ArrayOf(n)), // huge jumps both ways, overflowing differences
        (1, Gen.Elements(long.MinValue, long.MaxValue, -1L, 0L, 1L).ArrayOf(n)), // repeated extremes
        (1, Gen.Choose(-5, 5).Select(x => (long)x).ArrayOf(n)), // repeated and out of order around zero
        (1, Gen.Zip(Gen.Choose(0, 1_000_000), Gen.Choose(0, 9).ArrayOf(n)).SelectMany(t => Gen.Shuffle(Regular(t.Item1 * 1000L, 10_000, t.Item2)))));

    private static long[] Regular(long start, int step, int[] jitter) =>
        jitter.Select((j, i) => start + ((long)i * step) + j).ToArray();

    private static Gen<double[]> Values(int n) => Gen.Frequency(
        (3, Gen.Zip(Gen.Choose(0, 7), Gen.Choose(0, 100_000_000).ArrayOf(n)).Select(t => t.Item2.Select(m => m / Math.Pow(10, t.Item1)).ToArray())),
        // Short decimals with a few values that are not (fewer than an eighth: those are stored apart from the rest).
        (3, Gen.Zip(Gen.Zip(Gen.Choose(0, 7), Gen.Choose(-100_000_000, 100_000_000).ArrayOf(n)), Gen.Zip(Gen.Choose(0, 40).ArrayOf(n), Gen.Elements(Specials).ArrayOf(n)))
            .Select(t => t.Item1.Item2.Select((m, i) => t.Item2.Item1[i] == 0 ? t.Item2.Item2[i] : m / Math.Pow(10, t.Item1.Item1)).ToArray())),
        (2, Mixed.ArrayOf(n)),
        (1, AnyLong.Select(BitConverter.Int64BitsToDouble).ArrayOf(n)),
        (1, Gen.Zip(Mixed, Gen.Choose(0, 3).ArrayOf(n)).Select(t => t.Item2.Select(k => k == 0 ? t.Item1 : 1.0).ToArray())),
        (1, Gen.Choose(0, 1000).Select(c => c / 7.0).ArrayOf(n)));

    private static Gen<double> Mixed => Gen.Frequency(
        (2, Gen.Elements(Specials)),
        (2, Gen.Choose(-1_000_000, 1_000_000).Select(x => x / 1000.0)),
        (1, AnyLong.Select(BitConverter.Int64BitsToDouble)));
}
