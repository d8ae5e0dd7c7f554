using System.Numerics;

using Roadmap.Storage.Chunks;

namespace Roadmap.Bench.Storage;

/// <summary>
/// Frame-of-reference bit packing of unsigned integers in blocks of <see cref="BlockSize"/>: each block stores its
/// minimum and then every value minus that minimum in the fewest bits that hold the block's range. Zigzag-encoded
/// residuals of regular signals are small and alike, so a block of them costs a few bits a value, and a block of equal
/// values costs only its header.
/// </summary>
internal static class BlockPacking
{
    public const int BlockSize = 32;

    /// <summary>Bits of the two 7-bit widths that head each block.</summary>
    private const int HeaderBits = 14;

    public static void Write(ChunkWriter writer, ReadOnlySpan<ulong> values)
    {
        for (var start = 0; start < values.Length; start += BlockSize)
        {
            var block = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            var (min, range) = MinAndRange(block);
            var minBits = Width(min);
            var width = Width(range);
            writer.WriteBits((ulong)minBits, 7);
            writer.WriteBits(min, minBits);
            writer.WriteBits((ulong)width, 7);
            foreach (var v in block)
            {
                writer.WriteBits(v - min, width);
            }
        }

        writer.AlignToByte();
    }

    /// <summary>The packed size in bits, without writing: how the encoder compares transforms.</summary>
    public static long SizeInBits(ReadOnlySpan<ulong> values)
    {
        long bits = 0;
        for (var start = 0; start < values.Length; start += BlockSize)
        {
            var block = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            var (min, range) = MinAndRange(block);
            bits += HeaderBits + Width(min) + ((long)block.Length * Width(range));
        }

        return bits;
    }

    /// <summary>The most values <paramref name="inputBytes"/> bytes of packed blocks can hold (a block costs at least
    /// its header): the decoder's bound on a count read from the input.</summary>
    public static long MaxValuesIn(int inputBytes) => ((long)inputBytes * 8 / HeaderBits + 1) * BlockSize;

    public static void Read(ref ChunkReader reader, Span<ulong> values)
    {
        for (var start = 0; start < values.Length; start += BlockSize)
        {
            var block = values.Slice(start, Math.Min(BlockSize, values.Length - start));
            var minBits = ReadWidth(ref reader);
            var min = reader.ReadBits(minBits);
            var width = ReadWidth(ref reader);
            for (var i = 0; i < block.Length; i++)
            {
                block[i] = min + reader.ReadBits(width);
            }
        }

        reader.AlignToByte();
    }

    private static int ReadWidth(ref ChunkReader reader)
    {
        var width = (int)reader.ReadBits(7);
        return width <= 64 ? width : throw ChunkReader.Corrupt($"a block width of {width} bits");
    }

    private static (ulong Min, ulong Range) MinAndRange(ReadOnlySpan<ulong> block)
    {
        ulong min = ulong.MaxValue, max = 0;
        foreach (var v in block)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return (min, max - min);
    }

    private static int Width(ulong value) => 64 - BitOperations.LeadingZeroCount(value);
}
