using System.Buffers.Binary;
using System.Numerics;
using Roadmap.Core.Evaluation;
using ZstdSharp;

namespace Roadmap.Storage.Chunks;

/// <summary>
/// The compact history's codec: one series' samples over a time range as one immutable byte string (a chunk), the
/// same for every backend (a blob or a bytea). Timestamps are stored as their differences from the chunk's usual step,
/// values as the integers of short decimals differenced (or their XORed bytes when they are not short decimals), and
/// that body is compressed with zstd; the choice was measured on realistic signals against hand-written bit packing,
/// Gorilla and LZ4 (docs/PERFORMANCE.md, "Compact history"). A <see cref="ChunkHeader"/> in front, outside the
/// compressed body, answers count, span and the summary numbers without decompressing. Round trips are exact, bit for
/// bit: NaN payloads, infinities, -0, repeated and out-of-order timestamps are kept as given.
/// </summary>
/// <remarks>
/// Layout (varints are LEB128, signed ones zigzag): version byte; count; when not empty: min ts (signed), span
/// (max - min), value count, and when that is not 0 the first and last timestamps' offsets from min ts and six
/// numbers (sum, min, max, first, last, increase: decimal places, a flag byte, then each as a short decimal's integer
/// or a trimmed double); the body's size, then the body as one zstd frame; last a
/// CRC-32C of everything before it. The body: the first timestamp's offset, the base step (signed), a residual per
/// further timestamp (signed); a value mode byte and the values. The decoder trusts nothing: the count is checked
/// against <see cref="MaxSamples"/> and against the body's stated size (a sample takes at least a byte of it), that
/// size against the count, all before anything is allocated; the body is
/// decompressed into exactly that size, and every count inside the body is checked against the bytes left, so a
/// hostile or damaged chunk costs at most a few megabytes and one pass, and ends in an
/// <see cref="InvalidDataException"/>.
/// </remarks>
public static class ChunkCodec
{
    /// <summary>The most samples one chunk may hold: a day at one sample a second fits, with room.</summary>
    public const int MaxSamples = 131_072;

    /// <summary>
    /// The most bytes a chunk can take, 4 MiB: above the header, the largest body <see cref="MaxSamples"/> samples make,
    /// zstd's worst-case growth of it and the checksum. A stored value longer than this is no chunk (damaged or
    /// foreign), so a reader may refuse it without loading it.
    /// </summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The zstd level: higher levels measured a few percent smaller at a fraction of the speed.</summary>
    internal const int ZstdLevel = 3;

    private const byte Version = 1;
    private const byte DecimalMode = 0;
    private const byte XorMode = 1;
    private const int CrcBytes = 4;

    /// <summary>The most body bytes a sample can take: a 10-byte timestamp varint and 8 bytes of XORed value, or
    /// a 10-byte mantissa varint and a share of the raw values stored apart.</summary>
    private const int MaxBodyBytesPerSample = 21;

    private const int MaxBodyOverhead = 64;

    [ThreadStatic]
    private static Compressor? _compressor;

    [ThreadStatic]
    private static Decompressor? _decompressor;

    /// <summary>Encodes <paramref name="points"/> in the order given (the store keeps them sorted by time; the codec
    /// does not need it).</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxSamples"/> points.</exception>
    public static byte[] Encode(ReadOnlySpan<Point> points)
    {
        if (points.Length > MaxSamples)
        {
            throw new ArgumentException($"a chunk holds at most {MaxSamples} samples, not {points.Length}", nameof(points));
        }

        var writer = new ChunkWriter(32 + points.Length);
        writer.WriteByte(Version);
        writer.WriteVarint((ulong)points.Length);
        if (!points.IsEmpty)
        {
            WriteHeader(writer, Summarize(points));
            var body = new ChunkWriter(points.Length * 4);
            WriteBody(body, points, decimals: true);
            writer.WriteVarint((ulong)body.Length);
            _compressor ??= new Compressor(ZstdLevel);
            writer.WriteBytes(_compressor.Wrap(body.Written));
        }

        writer.WriteUInt32(Crc(writer.Written));
        return writer.ToArray();
    }

    /// <inheritdoc cref="Encode(ReadOnlySpan{Point})"/>
    public static byte[] Encode(IReadOnlyList<Point> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        return Encode(points is Point[] array ? array : points.ToArray());
    }

    /// <summary>The chunk's header, without decompressing its samples (the checksum is still checked).</summary>
    /// <exception cref="InvalidDataException">The chunk is truncated, damaged or not a chunk.</exception>
    public static ChunkHeader ReadHeader(ReadOnlySpan<byte> chunk)
    {
        var reader = new ChunkReader(Checked(chunk));
        return ReadHeader(ref reader);
    }

    /// <summary>The chunk's samples, in the order they were encoded.</summary>
    /// <exception cref="InvalidDataException">The chunk is truncated, damaged or not a chunk.</exception>
    public static Point[] Decode(ReadOnlySpan<byte> chunk)
    {
        var reader = new ChunkReader(Checked(chunk));
        var header = ReadHeader(ref reader);
        if (header.Count == 0)
        {
            return reader.Remaining == 0 ? [] : throw ChunkReader.Corrupt($"{reader.Remaining} bytes after an empty chunk");
        }

        var size = reader.ReadCount(MaxBodyOverhead + ((long)header.Count * MaxBodyBytesPerSample), "the body size");
        if (header.Count > size)
        {
            // Every sample takes at least a byte of the body, so the body's real size bounds what is allocated.
            throw ChunkReader.Corrupt($"{header.Count} samples cannot fit in a body of {size} bytes");
        }

        var body = new byte[size];
        int written;
        try
        {
            _decompressor ??= new Decompressor();
            written = _decompressor.Unwrap(reader.Rest, body);
        }
        catch (ZstdException e)
        {
            throw ChunkReader.Corrupt($"its body does not decompress ({e.Message})");
        }
        catch (ArgumentException e)
        {
            throw ChunkReader.Corrupt($"its body does not decompress to the {size} bytes it states ({e.Message})");
        }

        if (written != size)
        {
            throw ChunkReader.Corrupt($"its body decompresses to {written} bytes, not the {size} it states");
        }

        var points = new Point[header.Count];
        var bodyReader = new ChunkReader(body);
        ReadBody(ref bodyReader, header, points);
        return bodyReader.Remaining == 0 ? points : throw ChunkReader.Corrupt($"{bodyReader.Remaining} bytes after the values");
    }

    /// <summary>The chunk's bytes after the version, once its length, checksum and version are right.</summary>
    internal static ReadOnlySpan<byte> Checked(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length < 2 + CrcBytes)
        {
            throw ChunkReader.Corrupt($"{chunk.Length} bytes is too short for a chunk");
        }

        var body = chunk[..^CrcBytes];
        if (BinaryPrimitives.ReadUInt32LittleEndian(chunk[^CrcBytes..]) != Crc(body))
        {
            throw ChunkReader.Corrupt("its checksum does not match (damaged or truncated)");
        }

        if (body[0] != Version)
        {
            throw ChunkReader.Corrupt($"unknown version {body[0]}");
        }

        return body[1..];
    }

    // ---- header -------------------------------------------------------------------------------------------------

    /// <summary>The header of <paramref name="points"/>, by <see cref="SeriesSummary.Add"/>'s rules exactly.</summary>
    internal static ChunkHeader Summarize(ReadOnlySpan<Point> points)
    {
        if (points.IsEmpty)
        {
            return ChunkHeader.Empty;
        }

        long minTs = long.MaxValue, maxTs = long.MinValue;
        var h = ChunkHeader.Empty with { Count = points.Length };
        foreach (var (ts, value) in points)
        {
            minTs = Math.Min(minTs, ts);
            maxTs = Math.Max(maxTs, ts);
            if (double.IsNaN(value))
            {
                continue;
            }

            if (h.ValueCount == 0)
            {
                h = h with { Min = value, Max = value, FirstValue = value, FirstTs = ts };
            }
            else
            {
                // The same comparisons and additions as SeriesSummary.Add, so the two agree bit for bit.
                var delta = value - h.LastValue;
                h = h with
                {
                    Min = value < h.Min ? value : h.Min,
                    Max = value > h.Max ? value : h.Max,
                    Increase = h.Increase + (delta >= 0 ? delta : value),
                };
            }

            h = h with { ValueCount = h.ValueCount + 1, Sum = h.Sum + value, LastValue = value, LastTs = ts };
        }

        return h with { MinTs = minTs, MaxTs = maxTs };
    }

    /// <summary>The header's fields after the count (the count is written by the caller).</summary>
    internal static void WriteHeader(ChunkWriter writer, ChunkHeader h)
    {
        writer.WriteSigned(h.MinTs);
        writer.WriteVarint(unchecked((ulong)(h.MaxTs - h.MinTs)));
        writer.WriteVarint((ulong)h.ValueCount);
        if (h.ValueCount > 0)
        {
            writer.WriteVarint(unchecked((ulong)(h.FirstTs - h.MinTs)));
            writer.WriteVarint(unchecked((ulong)(h.LastTs - h.MinTs)));
            WriteSummaryValues(writer, [h.Sum, h.Min, h.Max, h.FirstValue, h.LastValue, h.Increase]);
        }
    }

    /// <summary>Reads the count and the header's fields.</summary>
    internal static ChunkHeader ReadHeader(ref ChunkReader reader)
    {
        var count = reader.ReadCount(MaxSamples, "the sample count");
        if (count == 0)
        {
            return ChunkHeader.Empty;
        }

        var minTs = reader.ReadSigned();
        var span = reader.ReadVarint();
        var maxTs = unchecked(minTs + (long)span);
        if (maxTs < minTs)
        {
            throw ChunkReader.Corrupt($"a span of {span} ms past the largest timestamp");
        }

        var valueCount = reader.ReadCount(count, "the value count");
        if (valueCount == 0)
        {
            return ChunkHeader.Empty with { Count = count, MinTs = minTs, MaxTs = maxTs };
        }

        var firstTs = Offset(ref reader, minTs, span);
        var lastTs = Offset(ref reader, minTs, span);
        Span<double> v = stackalloc double[SummaryValues];
        ReadSummaryValues(ref reader, v);
        return new ChunkHeader(count, minTs, maxTs, valueCount, v[0], v[1], v[2], firstTs, v[3], lastTs, v[4], v[5]);
    }

    private const int SummaryValues = 6;

    /// <summary>
    /// The header's six numbers (sum, min, max, first, last, increase). Four of them are sample values, so when the
    /// samples are short decimals those go as their integers at the decimal places that fit all four (a latency: 3
    /// bytes, not 9); a flag bit per number says which; the others go as trimmed doubles.
    /// </summary>
    private static void WriteSummaryValues(ChunkWriter writer, ReadOnlySpan<double> values)
    {
        var digits = DecimalValues.FindDigits(values[1..5], 0);
        writer.WriteByte((byte)Math.Max(0, digits));
        var flags = 0;
        Span<long> mantissas = stackalloc long[SummaryValues];
        for (var i = 0; i < SummaryValues; i++)
        {
            if (digits >= 0 && DecimalValues.TryMantissa(values[i], digits, out mantissas[i]))
            {
                flags |= 1 << i;
            }
        }

        writer.WriteByte((byte)flags);
        for (var i = 0; i < SummaryValues; i++)
        {
            if ((flags & (1 << i)) != 0)
            {
                writer.WriteSigned(mantissas[i]);
            }
            else
            {
                writer.WriteTrimmedDouble(values[i]);
            }
        }
    }

    private static void ReadSummaryValues(ref ChunkReader reader, scoped Span<double> values)
    {
        var digits = ReadDigits(ref reader);
        var flags = reader.ReadByte();
        if (flags >= 1 << SummaryValues)
        {
            throw ChunkReader.Corrupt($"summary flags {flags} at {digits} places");
        }

        for (var i = 0; i < SummaryValues; i++)
        {
            values[i] = (flags & (1 << i)) != 0 ? DecimalValues.Value(reader.ReadSigned(), digits) : reader.ReadTrimmedDouble();
        }
    }

    internal static long Offset(ref ChunkReader reader, long minTs, ulong span)
    {
        var offset = reader.ReadVarint();
        return offset <= span ? unchecked(minTs + (long)offset) : throw ChunkReader.Corrupt($"a timestamp offset {offset} beyond the span {span}");
    }

    // ---- body ---------------------------------------------------------------------------------------------------

    /// <summary>The uncompressed body. <paramref name="decimals"/> false forces XOR values (a measured alternative).</summary>
    internal static void WriteBody(ChunkWriter writer, ReadOnlySpan<Point> points, bool decimals)
    {
        WriteTimestamps(writer, points);
        WriteValues(writer, points, decimals);
    }

    /// <summary>Reads a body written by <see cref="WriteBody"/> into <paramref name="points"/> (sized by the header).</summary>
    internal static void ReadBody(ref ChunkReader reader, ChunkHeader header, Span<Point> points)
    {
        ReadTimestamps(ref reader, header, points);
        ReadValues(ref reader, points);
    }

    // Timestamps: the residual of each difference from the chunk's median difference, which for a regular schedule is
    // the lateness jitter of a few ms: one byte, and few distinct bytes for zstd to code.

    private static void WriteTimestamps(ChunkWriter writer, ReadOnlySpan<Point> points)
    {
        var residuals = TimestampResiduals(points, out var firstOffset, out var step);
        writer.WriteVarint(firstOffset);
        if (points.Length > 1)
        {
            writer.WriteSigned(step);
            foreach (var r in residuals)
            {
                writer.WriteSigned(r);
            }
        }
    }

    /// <summary>The first timestamp's offset from the smallest, the median step, and each later difference's residual
    /// from that step (none for one point).</summary>
    internal static long[] TimestampResiduals(ReadOnlySpan<Point> points, out ulong firstOffset, out long step)
    {
        var minTs = long.MaxValue;
        foreach (var p in points)
        {
            minTs = Math.Min(minTs, p.TimestampMs);
        }

        firstOffset = unchecked((ulong)(points[0].TimestampMs - minTs));
        // Arithmetic wraps on purpose: the decoder wraps the same way, so any two timestamps round-trip.
        var deltas = new long[points.Length - 1];
        for (var i = 1; i < points.Length; i++)
        {
            deltas[i - 1] = unchecked(points[i].TimestampMs - points[i - 1].TimestampMs);
        }

        step = deltas.Length == 0 ? 0 : Median(deltas);
        for (var i = 0; i < deltas.Length; i++)
        {
            deltas[i] = unchecked(deltas[i] - step);
        }

        return deltas;
    }

    private static void ReadTimestamps(ref ChunkReader reader, ChunkHeader header, Span<Point> points)
    {
        var previous = Offset(ref reader, header.MinTs, unchecked((ulong)(header.MaxTs - header.MinTs)));
        points[0] = new Point(previous, 0);
        long min = previous, max = previous;
        if (points.Length > 1)
        {
            var step = reader.ReadSigned();
            for (var i = 1; i < points.Length; i++)
            {
                previous = unchecked(previous + step + reader.ReadSigned());
                points[i] = new Point(previous, 0);
                min = Math.Min(min, previous);
                max = Math.Max(max, previous);
            }
        }

        CheckSpan(min, max, header);
    }

    internal static void CheckSpan(long min, long max, ChunkHeader header)
    {
        if (min != header.MinTs || max != header.MaxTs)
        {
            throw ChunkReader.Corrupt($"the timestamps span [{min}, {max}], the header says [{header.MinTs}, {header.MaxTs}]");
        }
    }

    internal static long Median(long[] deltas)
    {
        var sorted = (long[])deltas.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }

    // Values: short decimals as differenced integers; else every value's bits XORed with the previous one's, stored as
    // byte planes (all top bytes, then the next...), where a slowly moving series leaves long runs for zstd.

    private static void WriteValues(ChunkWriter writer, ReadOnlySpan<Point> points, bool decimals)
    {
        var values = Values(points);
        var digits = -1;
        List<int> patches = [];
        var mantissas = decimals ? Mantissas(values, out digits, out patches) : null;
        if (mantissas is null)
        {
            writer.WriteByte(XorMode);
            WriteXorPlanes(writer, values);
            return;
        }

        writer.WriteByte(DecimalMode);
        writer.WriteByte((byte)digits);
        WritePatches(writer, values, patches);
        // The difference order whose numbers are smallest: 0 for values scattered around a level (latencies), 1 for
        // a walk or a constant (gauges, up), 2 for a steady rise (counters).
        var order = 0;
        var bestBits = long.MaxValue;
        for (var o = 0; o <= 2 && o < mantissas.Length; o++)
        {
            long bits = 0;
            for (var i = o; i < mantissas.Length; i++)
            {
                bits += 64 - BitOperations.LeadingZeroCount(ChunkWriter.ZigZag(Difference(mantissas, i, o)));
            }

            if (bits < bestBits)
            {
                (order, bestBits) = (o, bits);
            }
        }

        writer.WriteByte((byte)order);
        for (var i = 0; i < mantissas.Length; i++)
        {
            writer.WriteSigned(Difference(mantissas, i, Math.Min(i, order)));
        }
    }

    internal static double[] Values(ReadOnlySpan<Point> points)
    {
        var values = new double[points.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = points[i].Value;
        }

        return values;
    }

    /// <summary>
    /// The values as the integers of short decimals at <paramref name="digits"/> places, with the indexes of those
    /// that are not (<paramref name="patches"/>, stored apart as raw bits; their integer repeats the previous one so
    /// its difference is 0); null when too many are not, and the values are better XOR coded.
    /// </summary>
    internal static long[]? Mantissas(double[] values, out int digits, out List<int> patches)
    {
        // Past an eighth of odd values, their raw bits (9+ bytes each) cost more than XOR coding them all.
        var maxPatches = values.Length / 8;
        digits = DecimalValues.FindDigits(values, maxPatches);
        patches = [];
        var mantissas = new long[values.Length];
        for (var i = 0; digits >= 0 && i < values.Length; i++)
        {
            if (!DecimalValues.TryMantissa(values[i], digits, out mantissas[i]))
            {
                patches.Add(i);
                mantissas[i] = i > 0 ? mantissas[i - 1] : 0;
            }
        }

        return digits < 0 || patches.Count > maxPatches ? null : mantissas;
    }

    internal static void WritePatches(ChunkWriter writer, double[] values, List<int> patches)
    {
        writer.WriteVarint((ulong)patches.Count);
        var last = -1;
        foreach (var index in patches)
        {
            writer.WriteVarint((ulong)(index - last - 1));
            writer.WriteUInt64((ulong)BitConverter.DoubleToInt64Bits(values[index]));
            last = index;
        }
    }

    /// <summary>Reads what <see cref="WritePatches"/> wrote for <paramref name="count"/> values.</summary>
    internal static (int[] Indexes, long[] Bits) ReadPatches(ref ChunkReader reader, int count)
    {
        // Each value stored apart takes at least 9 bytes: a count beyond that cannot be real.
        var patchCount = reader.ReadCount(Math.Min(count, reader.Remaining / 9), "the count of values stored apart");
        var indexes = new int[patchCount];
        var bits = new long[patchCount];
        var last = -1;
        for (var p = 0; p < patchCount; p++)
        {
            last += 1 + reader.ReadCount(count - last - 2, "the gap to a value stored apart");
            indexes[p] = last;
            bits[p] = (long)reader.ReadUInt64();
        }

        return (indexes, bits);
    }

    internal static byte ReadDigits(ref ChunkReader reader)
    {
        var digits = reader.ReadByte();
        return digits <= DecimalValues.MaxDigits ? digits : throw ChunkReader.Corrupt($"{digits} decimal places");
    }

    internal static long Difference(long[] m, int i, int order) => unchecked(order switch
    {
        0 => m[i],
        1 => m[i] - m[i - 1],
        _ => m[i] - (2 * m[i - 1]) + m[i - 2],
    });

    private static void WriteXorPlanes(ChunkWriter writer, double[] values)
    {
        var xors = new ulong[values.Length];
        ulong previous = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            xors[i] = bits ^ previous;
            previous = bits;
        }

        for (var shift = 56; shift >= 0; shift -= 8)
        {
            foreach (var x in xors)
            {
                writer.WriteByte((byte)(x >> shift));
            }
        }
    }

    private static void ReadValues(ref ChunkReader reader, Span<Point> points)
    {
        var mode = reader.ReadByte();
        if (mode == XorMode)
        {
            ReadXorPlanes(ref reader, points);
            return;
        }

        if (mode != DecimalMode)
        {
            throw ChunkReader.Corrupt($"unknown value mode {mode}");
        }

        var digits = ReadDigits(ref reader);
        var (patchIndexes, patchBits) = ReadPatches(ref reader, points.Length);
        var order = reader.ReadByte();
        if (order > 2)
        {
            throw ChunkReader.Corrupt($"difference order {order}");
        }

        long previous = 0, delta = 0;
        for (var i = 0; i < points.Length; i++)
        {
            var d = reader.ReadSigned();
            var m = unchecked(Math.Min(i, order) switch
            {
                0 => d,
                1 => previous + d,
                _ => previous + delta + d,
            });
            delta = unchecked(m - previous);
            previous = m;
            points[i] = points[i] with { Value = DecimalValues.Value(m, digits) };
        }

        for (var p = 0; p < patchIndexes.Length; p++)
        {
            points[patchIndexes[p]] = points[patchIndexes[p]] with { Value = BitConverter.Int64BitsToDouble(patchBits[p]) };
        }
    }

    private static void ReadXorPlanes(ref ChunkReader reader, Span<Point> points)
    {
        var planes = reader.ReadBytes(points.Length * 8);
        ulong previous = 0;
        for (var i = 0; i < points.Length; i++)
        {
            ulong xor = 0;
            for (var plane = 0; plane < 8; plane++)
            {
                xor = (xor << 8) | planes[(plane * points.Length) + i];
            }

            previous ^= xor;
            points[i] = points[i] with { Value = BitConverter.Int64BitsToDouble((long)previous) };
        }
    }

    /// <summary>CRC-32C (Castagnoli), as the processor computes it.</summary>
    internal static uint Crc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFF_FFFFu;
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return ~crc;
    }
}
