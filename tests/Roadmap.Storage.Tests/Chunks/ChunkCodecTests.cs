using System.Buffers.Binary;
using FsCheck.Xunit;
using Roadmap.Core.Evaluation;
using Roadmap.Core.Tests.Config.Fuzzing;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Tests.Chunks;

public class ChunkCodecTests
{
    /// <summary>A hostile chunk may make the decoder allocate its bounded worst case (MaxSamples points and their
    /// body), never more: a few MiB. Far above that is a decoder trusting a count it read.</summary>
    private const long AllocationBound = 32L * 1024 * 1024;

    [Property(Arbitrary = [typeof(ChunkArbitraries)], MaxTest = 300, EndSize = 200)]
    public bool Encode_AnySeries_DecodesBitForBit(ChunkSeries series) => SameBits(series.Points, ChunkCodec.Decode(ChunkCodec.Encode(series.Points)));

    [Property(Arbitrary = [typeof(ChunkArbitraries)], MaxTest = 300, EndSize = 200)]
    public void ReadHeader_AnySeries_AgreesWithSeriesSummary(ChunkSeries series)
    {
        var points = series.Points;
        var header = ChunkCodec.ReadHeader(ChunkCodec.Encode(points));
        var summary = SeriesSummary.FromPoints(points);
        Assert.Equal(points.Length, header.Count);
        Assert.Equal(points.Length == 0 ? 0 : points.Min(p => p.TimestampMs), header.MinTs);
        Assert.Equal(points.Length == 0 ? 0 : points.Max(p => p.TimestampMs), header.MaxTs);
        Assert.Equal(summary.Count, header.ValueCount);
        AssertSame(summary.Sum, header.Sum);
        AssertSame(summary.Min, header.Min);
        AssertSame(summary.Max, header.Max);
        AssertSame(summary.FirstValue, header.FirstValue);
        AssertSame(summary.LastValue, header.LastValue);
        AssertSame(summary.Increase, header.Increase);
        Assert.Equal(summary.FirstTimestampMs, header.FirstTs);
        Assert.Equal(summary.LastTimestampMs, header.LastTs);
    }

    [Theory]
    [MemberData(nameof(SpecialValues))]
    public void Encode_SpecialValueAmongShortDecimals_DecodesBitForBit(int which)
    {
        // By index: the test framework's serialization of a double would fold the NaN payloads into one.
        var special = ChunkArbitraries.Specials[which];
        // A special value among short decimals (i / 1000.0 is one; 0.001 * i often is not) is stored apart from them;
        // alone in its chunk it is the whole chunk.
        var among = Enumerable.Range(0, 100).Select(i => new Point(1_000_000 + (i * 10_000L), i == 37 ? special : i / 1000.0)).ToArray();
        var alone = new[] { new Point(-5, special) };
        Assert.True(SameBits(among, ChunkCodec.Decode(ChunkCodec.Encode(among))));
        Assert.True(SameBits(alone, ChunkCodec.Decode(ChunkCodec.Encode(alone))));
    }

    public static TheoryData<int> SpecialValues() => [.. Enumerable.Range(0, ChunkArbitraries.Specials.Length)];

    [Fact]
    public void Encode_NoPoints_DecodesEmptyAndReadsTheEmptyHeader()
    {
        var chunk = ChunkCodec.Encode(Array.Empty<Point>());
        Assert.Empty(ChunkCodec.Decode(chunk));
        Assert.Equal(ChunkHeader.Empty with { }, ChunkCodec.ReadHeader(chunk) with { });
        Assert.Equal(0, ChunkCodec.ReadHeader(chunk).Count);
    }

    [Fact]
    public void Encode_ExtremeTimestampsRepeatedAndReversed_DecodesBitForBit()
    {
        Point[] points = [new(long.MaxValue, 1), new(long.MinValue, 2), new(long.MinValue, 3), new(0, -0.0), new(long.MaxValue, double.NaN), new(-1, 4)];
        Assert.True(SameBits(points, ChunkCodec.Decode(ChunkCodec.Encode(points))));
        var header = ChunkCodec.ReadHeader(ChunkCodec.Encode(points));
        Assert.Equal((long.MinValue, long.MaxValue), (header.MinTs, header.MaxTs));
    }

    [Fact]
    public void Encode_MaxSamples_RoundTripsAndOneMoreIsRefused()
    {
        var points = Enumerable.Range(0, ChunkCodec.MaxSamples).Select(i => new Point(i * 1000L, i % 2)).ToArray();
        Assert.True(SameBits(points, ChunkCodec.Decode(ChunkCodec.Encode(points))));
        var tooMany = points.Append(new Point(0, 0)).ToArray();
        Assert.Throws<ArgumentException>(() => ChunkCodec.Encode(tooMany));
    }

    [Fact]
    public void Encode_MaxSamplesOfRandomBits_StaysWithinMaxBytes()
    {
        // The largest chunk there is: every timestamp and every value's bits random, nothing for zstd to find.
        var random = new Random(21);
        var points = Enumerable.Range(0, ChunkCodec.MaxSamples).Select(_ => new Point(random.NextInt64(long.MinValue, long.MaxValue), BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue)))).ToArray();

        var chunk = ChunkCodec.Encode(points);

        Assert.InRange(chunk.Length, 12 * ChunkCodec.MaxSamples, ChunkCodec.MaxBytes);
        Assert.True(SameBits(points, ChunkCodec.Decode(chunk)));
    }

    [Fact]
    public void Encode_RealisticHourOfTenSecondLatencies_TakesFewBytesASample()
    {
        // The codec's reason to exist, checked loosely here (the measured figures are in docs/PERFORMANCE.md): an
        // hour of 10 s latencies rounded to microseconds with ms jitter, against the 16 bytes of its raw pairs.
        var points = Realistic(new Random(5), 360, latency: true);
        Assert.InRange(ChunkCodec.Encode(points).Length / 360.0, 1, 6);
        var up = Realistic(new Random(6), 360, latency: false);
        Assert.InRange(ChunkCodec.Encode(up).Length / 360.0, 0.1, 2);
    }

    [Fact]
    public void Decode_EveryTruncation_ThrowsInvalidData()
    {
        foreach (var chunk in SampleChunks())
        {
            for (var length = 0; length < chunk.Length; length++)
            {
                var e = Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(chunk.AsSpan(0, length)));
                Assert.StartsWith("corrupt chunk:", e.Message);
                Assert.Throws<InvalidDataException>(() => ChunkCodec.ReadHeader(chunk.AsSpan(0, length)));
            }
        }
    }

    [Fact]
    public void Decode_EverySingleBitFlip_ThrowsInvalidData()
    {
        foreach (var chunk in SampleChunks())
        {
            for (var i = 0; i < chunk.Length; i++)
            {
                for (var bit = 0; bit < 8; bit++)
                {
                    var damaged = (byte[])chunk.Clone();
                    damaged[i] ^= (byte)(1 << bit);
                    Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(damaged));
                }
            }
        }
    }

    [Fact]
    public void Decode_RandomByteDamage_ThrowsInvalidData()
    {
        var chunks = SampleChunks();
        FuzzRun.Run("chunk byte damage", 3000, TimeSpan.FromMinutes(2), random =>
        {
            var damaged = (byte[])chunks[random.Next(chunks.Count)].Clone();
            for (var flips = 1 + random.Next(8); flips > 0; flips--)
            {
                damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            }

            return Convert.ToHexString(damaged);
        }, hex =>
        {
            var damaged = Convert.FromHexString(hex);
            if (!chunks.Any(c => c.AsSpan().SequenceEqual(damaged)))
            {
                Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(damaged));
            }
        });
    }

    [Fact]
    public void Decode_HostileChunkWithValidChecksum_ThrowsInvalidDataOrDecodesWithinBounds()
    {
        // A writer who computes the checksum: only the decoder's own checks stand between its input and an
        // unbounded allocation, a hang (FuzzRun fails a case that runs too long) or an exception of another kind.
        var chunks = SampleChunks();
        FuzzRun.Run("hostile chunk", 3000, TimeSpan.FromMinutes(2), random => Convert.ToHexString(Mutate(random, chunks[random.Next(chunks.Count)])), hex =>
        {
            var hostile = Convert.FromHexString(hex);
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var points = ChunkCodec.Decode(hostile);
                Assert.Equal(ChunkCodec.ReadHeader(hostile).Count, points.Length);
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("corrupt chunk:", e.Message);
            }

            Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, AllocationBound);
        });
    }

    [Theory]
    [InlineData(ChunkCodec.MaxSamples + 1L, 10L)] // more samples than a chunk may hold
    [InlineData(ChunkCodec.MaxSamples, 1L << 40)] // a body far larger than the count allows
    [InlineData(ChunkCodec.MaxSamples, 21L * ChunkCodec.MaxSamples)] // the largest allowed body, from a few bytes
    public void Decode_HeaderClaimingHugeSizes_ThrowsInvalidDataWithinBoundedMemory(long count, long bodySize)
    {
        var forged = new List<byte> { 1 };
        Varint(forged, (ulong)count);
        forged.AddRange([0, 0, 0]); // min ts 0, span 0, no values
        Varint(forged, (ulong)bodySize);
        forged.AddRange([0x28, 0xB5, 0x2F, 0xFD, 0, 0, 1, 0, 0]); // a zstd magic and nonsense
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(WithChecksum([.. forged])));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, AllocationBound);
    }

    [Fact]
    public void Decode_CountBeyondWhatItsBodyHolds_ThrowsBeforeAllocatingForTheCount()
    {
        // A real one-sample chunk whose count says the most a chunk may hold: the decoder must not size anything by
        // that count before the body shows it cannot hold so many (2 MiB of points here, bounded but needless).
        var real = ChunkCodec.Encode([new Point(1_795_000_000_000, 1)]);
        var forged = new List<byte> { 1 };
        Varint(forged, ChunkCodec.MaxSamples);
        forged.AddRange(real[2..^4]); // the one-byte count 1 replaced
        ChunkCodec.Decode(real); // the thread's decompressor made before measuring
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ChunkCodec.Decode(WithChecksum([.. forged])));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 256 * 1024);
        Assert.Contains("cannot fit", e.Message);
    }

    private static byte[] Mutate(Random random, byte[] chunk)
    {
        var bytes = chunk[..^4].ToList();
        for (var edits = 1 + random.Next(4); edits > 0 && bytes.Count > 1; edits--)
        {
            var at = 1 + random.Next(bytes.Count - 1); // the version byte is kept, or nothing past it is read
            switch (random.Next(5))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = random.Next(2) == 0 ? (byte)0xFF : (byte)0x80; // varints that run on
                    break;
                case 2:
                    bytes.RemoveAt(at);
                    break;
                case 3:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                default:
                    bytes.RemoveRange(at, random.Next(bytes.Count - at)); // cut short, then checksummed again
                    break;
            }
        }

        return WithChecksum([.. bytes]);
    }

    private static byte[] WithChecksum(byte[] body)
    {
        var chunk = new byte[body.Length + 4];
        body.CopyTo(chunk, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(body.Length), ChunkCodec.Crc(body));
        return chunk;
    }

    private static void Varint(List<byte> bytes, ulong value)
    {
        for (; value >= 0x80; value >>= 7)
        {
            bytes.Add((byte)(value | 0x80));
        }

        bytes.Add((byte)value);
    }

    /// <summary>Chunks of each shape the format has: empty, one sample, short decimals with values stored apart,
    /// XOR values, out-of-order and extreme timestamps.</summary>
    private static List<byte[]> SampleChunks()
    {
        var random = new Random(21);
        var withSpecials = Realistic(random, 120, latency: true);
        withSpecials[3] = withSpecials[3] with { Value = double.NaN };
        withSpecials[50] = withSpecials[50] with { Value = -0.0 };
        return
        [
            ChunkCodec.Encode(Array.Empty<Point>()),
            ChunkCodec.Encode([new Point(1_795_000_000_000, 0.25)]),
            ChunkCodec.Encode(withSpecials),
            ChunkCodec.Encode(Realistic(random, 90, latency: false)),
            ChunkCodec.Encode(Enumerable.Range(0, 60).Select(i => new Point(i * 60_000L, random.Next(1, 1000) / (double)random.Next(1000, 2000))).ToArray()),
            ChunkCodec.Encode([new Point(long.MaxValue, 1), new Point(long.MinValue, double.NegativeInfinity), new Point(5, 5), new Point(5, 6)]),
        ];
    }

    private static Point[] Realistic(Random random, int count, bool latency)
    {
        var start = 1_795_000_000_000L;
        return Enumerable.Range(0, count).Select(i => new Point(
            start + (i * 10_000L) + random.Next(0, 6),
            latency ? Math.Round(0.05 * Math.Exp(0.3 * (random.NextDouble() - 0.5)), 6) : (random.Next(500) == 0 ? 0 : 1))).ToArray();
    }

    private static bool SameBits(Point[] expected, Point[] actual) =>
        expected.Length == actual.Length && expected.Zip(actual).All(p =>
            p.First.TimestampMs == p.Second.TimestampMs && BitConverter.DoubleToInt64Bits(p.First.Value) == BitConverter.DoubleToInt64Bits(p.Second.Value));

    private static void AssertSame(double expected, double actual) =>
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual) || (double.IsNaN(expected) && double.IsNaN(actual)), $"expected {expected:R}, got {actual:R}");
}
