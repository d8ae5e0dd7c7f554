using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Bench.Storage;

/// <summary>
/// The hand-written alternative measured against the shipped codec: the same header and transforms (timestamp
/// residuals, short decimals' integers with the difference order that packs smallest, values stored apart), bit-packed
/// in blocks of 32 (<see cref="BlockPacking"/>) instead of compressed; Gorilla XOR (<see cref="XorValues"/>) for values
/// that are not short decimals.
/// </summary>
internal static class HandBlockPackCodec
{
    private const byte DecimalMode = 0;
    private const byte XorMode = 1;

    public static byte[] Encode(Point[] points)
    {
        var writer = new ChunkWriter(32 + (points.Length * 3));
        writer.WriteByte(1);
        writer.WriteVarint((ulong)points.Length);
        ChunkCodec.WriteHeader(writer, ChunkCodec.Summarize(points));
        var residuals = ChunkCodec.TimestampResiduals(points, out var firstOffset, out var step);
        writer.WriteVarint(firstOffset);
        writer.WriteSigned(step);
        BlockPacking.Write(writer, residuals.Select(ChunkWriter.ZigZag).ToArray());
        var values = ChunkCodec.Values(points);
        var mantissas = ChunkCodec.Mantissas(values, out var digits, out var patches);
        if (mantissas is null)
        {
            writer.WriteByte(XorMode);
            XorValues.Write(writer, values);
            writer.AlignToByte();
        }
        else
        {
            writer.WriteByte(DecimalMode);
            writer.WriteByte((byte)digits);
            ChunkCodec.WritePatches(writer, values, patches);
            var order = Enumerable.Range(0, Math.Min(3, mantissas.Length)).MinBy(o => BlockPacking.SizeInBits(Differences(mantissas, o)));
            writer.WriteByte((byte)order);
            for (var i = 0; i < order; i++)
            {
                writer.WriteSigned(ChunkCodec.Difference(mantissas, i, i));
            }

            BlockPacking.Write(writer, Differences(mantissas, order));
        }

        writer.WriteUInt32(ChunkCodec.Crc(writer.Written));
        return writer.ToArray();
    }

    public static Point[] Decode(ReadOnlySpan<byte> chunk)
    {
        var reader = new ChunkReader(ChunkCodec.Checked(chunk));
        var header = ChunkCodec.ReadHeader(ref reader);
        var count = header.Count;
        var ts = new long[count];
        ts[0] = ChunkCodec.Offset(ref reader, header.MinTs, unchecked((ulong)(header.MaxTs - header.MinTs)));
        var step = reader.ReadSigned();
        var residuals = new ulong[count - 1];
        BlockPacking.Read(ref reader, residuals);
        for (var i = 1; i < count; i++)
        {
            ts[i] = ts[i - 1] + step + ChunkReader.UnZigZag(residuals[i - 1]);
        }

        ChunkCodec.CheckSpan(ts.Min(), ts.Max(), header);
        var values = new double[count];
        if (reader.ReadByte() == XorMode)
        {
            XorValues.Read(ref reader, values);
            reader.AlignToByte();
        }
        else
        {
            var digits = ChunkCodec.ReadDigits(ref reader);
            var (indexes, bits) = ChunkCodec.ReadPatches(ref reader, count);
            var order = reader.ReadByte();
            var leading = new long[order];
            for (var i = 0; i < order; i++)
            {
                leading[i] = reader.ReadSigned();
            }

            var packed = new ulong[count - order];
            BlockPacking.Read(ref reader, packed);
            long previous = 0, delta = 0;
            for (var i = 0; i < count; i++)
            {
                var d = i < order ? leading[i] : ChunkReader.UnZigZag(packed[i - order]);
                var m = Math.Min(i, order) switch { 0 => d, 1 => previous + d, _ => previous + delta + d };
                (delta, previous) = (m - previous, m);
                values[i] = DecimalValues.Value(m, digits);
            }

            for (var p = 0; p < indexes.Length; p++)
            {
                values[indexes[p]] = BitConverter.Int64BitsToDouble(bits[p]);
            }
        }

        return ts.Zip(values, (t, v) => new Point(t, v)).ToArray();
    }

    private static ulong[] Differences(long[] m, int order) =>
        Enumerable.Range(order, m.Length - order).Select(i => ChunkWriter.ZigZag(ChunkCodec.Difference(m, i, order))).ToArray();
}
