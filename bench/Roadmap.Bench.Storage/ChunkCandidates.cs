using System.Numerics;
using K4os.Compression.LZ4;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;
using ZstdSharp;

namespace Roadmap.Bench.Storage;

/// <summary>One way to turn a chunk's points into bytes and back, measured by <c>codec</c>.</summary>
internal abstract class ChunkCandidate(string name)
{
    public string Name { get; } = name;

    public abstract byte[] Encode(Point[] points);

    public abstract Point[] Decode(byte[] chunk);
}

/// <summary>The shipped codec (<see cref="ChunkCodec"/>): the transforms, then zstd.</summary>
internal sealed class ShippedCodec() : ChunkCandidate($"decimal varints, then zstd-{ChunkCodec.ZstdLevel} (shipped)")
{
    public override byte[] Encode(Point[] points) => ChunkCodec.Encode(points);

    public override Point[] Decode(byte[] chunk) => ChunkCodec.Decode(chunk);
}

/// <summary>The same transforms bit-packed by hand in blocks of 32 (<see cref="HandBlockPackCodec"/>), optionally
/// compressed again with zstd (the combination).</summary>
internal sealed class HandBlockPack(bool thenZstd) : ChunkCandidate(thenZstd ? "decimal, block bit-packing (hand), then zstd-3" : "decimal, block bit-packing (hand)")
{
    public override byte[] Encode(Point[] points)
    {
        var packed = HandBlockPackCodec.Encode(points);
        if (!thenZstd)
        {
            return packed;
        }

        using var zstd = new Compressor(3);
        return zstd.Wrap(packed).ToArray();
    }

    public override Point[] Decode(byte[] chunk)
    {
        if (!thenZstd)
        {
            return HandBlockPackCodec.Decode(chunk);
        }

        using var zstd = new Decompressor();
        return HandBlockPackCodec.Decode(zstd.Unwrap(chunk));
    }
}

/// <summary>
/// The shipped layout with another compressor or level for the body, or with XOR bytes for every value (no decimal
/// transform): the header, the body's size, the compressed body, the CRC.
/// </summary>
internal sealed class TransformThenCompress(string name, bool decimals, Func<byte[], byte[]> compress, Func<byte[], int, byte[]> decompress)
    : ChunkCandidate(name)
{
    public static ChunkCandidate Zstd(bool decimals, int level) => new TransformThenCompress(
        $"{(decimals ? "decimal varints" : "XOR byte planes")}, then zstd-{level}",
        decimals,
        raw =>
        {
            using var zstd = new Compressor(level);
            return zstd.Wrap(raw).ToArray();
        },
        (packed, size) =>
        {
            using var zstd = new Decompressor();
            return zstd.Unwrap(packed, size).ToArray();
        });

    public static ChunkCandidate Lz4(LZ4Level level) => new TransformThenCompress(
        $"decimal varints, then LZ4 {(level == LZ4Level.L00_FAST ? "fast" : "HC")}",
        decimals: true,
        raw => LZ4Pickler.Pickle(raw, level),
        (packed, _) => LZ4Pickler.Unpickle(packed));

    public override byte[] Encode(Point[] points)
    {
        var w = new ChunkWriter(64 + (points.Length * 3));
        w.WriteByte(1);
        w.WriteVarint((ulong)points.Length);
        ChunkCodec.WriteHeader(w, ChunkCodec.Summarize(points));
        var body = new ChunkWriter(points.Length * 4);
        ChunkCodec.WriteBody(body, points, decimals);
        w.WriteVarint((ulong)body.Length);
        w.WriteBytes(compress(body.ToArray()));
        w.WriteUInt32(ChunkCodec.Crc(w.Written));
        return w.ToArray();
    }

    public override Point[] Decode(byte[] chunk)
    {
        if (ChunkCodec.Crc(chunk.AsSpan(0, chunk.Length - 4)) != BitConverter.ToUInt32(chunk, chunk.Length - 4))
        {
            throw new InvalidDataException("checksum");
        }

        var reader = new ChunkReader(chunk.AsSpan(1, chunk.Length - 5));
        var header = ChunkCodec.ReadHeader(ref reader);
        var size = (int)reader.ReadVarint();
        var body = new ChunkReader(decompress(reader.Rest.ToArray(), size));
        var points = new Point[header.Count];
        ChunkCodec.ReadBody(ref body, header, points);
        return points;
    }
}

/// <summary>Gorilla as published (Pelkonen et al., 2015), by hand: delta-of-delta timestamps in its buckets and XOR
/// values, after the same header.</summary>
internal sealed class GorillaCodec() : ChunkCandidate("Gorilla: delta-of-delta + XOR (hand)")
{
    public override byte[] Encode(Point[] points)
    {
        var w = new ChunkWriter(points.Length * 8);
        w.WriteVarint((ulong)points.Length);
        ChunkCodec.WriteHeader(w, ChunkCodec.Summarize(points));
        w.WriteBits((ulong)points[0].TimestampMs, 64);
        long previous = points[0].TimestampMs, delta = 0;
        for (var i = 1; i < points.Length; i++)
        {
            var d = points[i].TimestampMs - previous;
            var dod = d - delta;
            (previous, delta) = (points[i].TimestampMs, d);
            var z = ChunkWriter.ZigZag(dod);
            if (dod == 0)
            {
                w.WriteBits(0, 1);
            }
            else if (z < 1 << 7)
            {
                w.WriteBits(0b01, 2);
                w.WriteBits(z, 7);
            }
            else if (z < 1 << 9)
            {
                w.WriteBits(0b011, 3);
                w.WriteBits(z, 9);
            }
            else if (z < 1 << 12)
            {
                w.WriteBits(0b0111, 4);
                w.WriteBits(z, 12);
            }
            else
            {
                w.WriteBits(0b1111, 4);
                w.WriteBits(z, 64);
            }
        }

        XorValues.Write(w, points.Select(p => p.Value).ToArray());
        w.AlignToByte();
        w.WriteUInt32(ChunkCodec.Crc(w.Written));
        return w.ToArray();
    }

    public override Point[] Decode(byte[] chunk)
    {
        var r = new ChunkReader(chunk.AsSpan(0, chunk.Length - 4));
        var header = ChunkCodec.ReadHeader(ref r);
        var ts = new long[header.Count];
        ts[0] = (long)r.ReadBits(64);
        long delta = 0;
        for (var i = 1; i < ts.Length; i++)
        {
            var width = r.ReadBits(1) == 0 ? 0 : r.ReadBits(1) == 0 ? 7 : r.ReadBits(1) == 0 ? 9 : r.ReadBits(1) == 0 ? 12 : 64;
            delta += width == 0 ? 0 : ChunkReader.UnZigZag(r.ReadBits(width));
            ts[i] = ts[i - 1] + delta;
        }

        var values = new double[header.Count];
        XorValues.Read(ref r, values);
        var points = new Point[ts.Length];
        for (var i = 0; i < ts.Length; i++)
        {
            points[i] = new Point(ts[i], values[i]);
        }

        return points;
    }
}
