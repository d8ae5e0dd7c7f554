using System.Numerics;

using Roadmap.Storage.Chunks;

namespace Roadmap.Bench.Storage;

/// <summary>
/// Gorilla's XOR coding of doubles (Pelkonen et al., 2015): each value XORed with the one before; an unchanged value
/// is one bit, a change that fits the previous window of meaningful bits reuses it. Exact for every bit pattern (NaN
/// payloads included); the fallback for values that are not short decimals, such as ratios of counts.
/// </summary>
internal static class XorValues
{
    public static void Write(ChunkWriter writer, ReadOnlySpan<double> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        var previous = (ulong)BitConverter.DoubleToInt64Bits(values[0]);
        writer.WriteBits(previous, 64);
        int leading = -1, trailing = 0;
        for (var i = 1; i < values.Length; i++)
        {
            var bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            var xor = bits ^ previous;
            previous = bits;
            if (xor == 0)
            {
                writer.WriteBits(0, 1);
                continue;
            }

            var lz = BitOperations.LeadingZeroCount(xor);
            var tz = BitOperations.TrailingZeroCount(xor);
            if (leading >= 0 && lz >= leading && tz >= trailing)
            {
                writer.WriteBits(0b01, 2); // '1' then '0': the previous window
                writer.WriteBits(xor >> trailing, 64 - leading - trailing);
                continue;
            }

            leading = lz;
            trailing = tz;
            var meaningful = 64 - lz - tz;
            writer.WriteBits(0b11, 2); // '1' then '1': a new window
            writer.WriteBits((ulong)lz, 6);
            writer.WriteBits((ulong)(meaningful - 1), 6);
            writer.WriteBits(xor >> tz, meaningful);
        }
    }

    public static void Read(ref ChunkReader reader, Span<double> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        var previous = reader.ReadBits(64);
        values[0] = BitConverter.Int64BitsToDouble((long)previous);
        int leading = -1, trailing = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (reader.ReadBits(1) != 0)
            {
                if (reader.ReadBits(1) != 0)
                {
                    leading = (int)reader.ReadBits(6);
                    var meaningful = (int)reader.ReadBits(6) + 1;
                    trailing = 64 - leading - meaningful;
                    if (trailing < 0)
                    {
                        throw ChunkReader.Corrupt($"an XOR window of {leading} + {meaningful} bits");
                    }
                }
                else if (leading < 0)
                {
                    throw ChunkReader.Corrupt("an XOR value reuses a window before any was set");
                }

                previous ^= reader.ReadBits(64 - leading - trailing) << trailing;
            }

            values[i] = BitConverter.Int64BitsToDouble((long)previous);
        }
    }
}
