using System.Buffers.Binary;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// The data of one row of SQLite's hot samples table (<see cref="SamplesTable"/>): the samples one source key's series
/// have at one ts, usually one poll's. Entries sorted by series, each the series' offset from the key (series id minus
/// source key, zigzag varint: one byte while the id is less than 64 above the key) and its value (8 bytes, little-endian IEEE 754).
/// A series has at most one entry in a row. Anything else is damaged: a <see cref="StorageException"/> (the store
/// is failing) around an <see cref="InvalidDataException"/>, as for a damaged chunk.
/// </summary>
internal static class HotRow
{
    /// <summary>The most bytes one entry takes (a 10-byte varint and the value).</summary>
    public const int MaxEntryBytes = 18;

    /// <summary>Writes one entry at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, long offset, double value)
    {
        var n = WriteVarint(destination, ChunkWriter.ZigZag(offset));
        BinaryPrimitives.WriteDoubleLittleEndian(destination[n..], value);
        return n + 8;
    }

    /// <summary>The value of the series at <paramref name="offset"/> in the row, if it has one.</summary>
    public static bool TryGet(ReadOnlySpan<byte> data, long offset, out double value)
    {
        var reader = new Reader(data);
        while (reader.Next(out var o, out var v))
        {
            if (o == offset)
            {
                value = v;
                return true;
            }

            if (o > offset)
            {
                break;
            }
        }

        value = 0;
        return false;
    }

    /// <summary>How many entries the row holds.</summary>
    public static int Count(ReadOnlySpan<byte> data)
    {
        var reader = new Reader(data);
        var n = 0;
        while (reader.Next(out _, out _))
        {
            n++;
        }

        return n;
    }

    /// <summary>
    /// The union of two rows of one key and ts. Where both hold a series, <paramref name="incoming"/>'s value when
    /// <paramref name="incomingWins"/> (a later write replaces), else <paramref name="stored"/>'s (an import keeps what is stored).
    /// </summary>
    public static byte[] Merge(ReadOnlySpan<byte> stored, ReadOnlySpan<byte> incoming, bool incomingWins)
    {
        var buffer = new byte[stored.Length + incoming.Length];
        var a = new Reader(stored);
        var b = new Reader(incoming);
        var hasA = a.Next(out var oa, out var va);
        var hasB = b.Next(out var ob, out var vb);
        var n = 0;
        while (hasA || hasB)
        {
            if (hasA && (!hasB || oa < ob))
            {
                n += Write(buffer.AsSpan(n), oa, va);
                hasA = a.Next(out oa, out va);
            }
            else if (hasB && (!hasA || ob < oa))
            {
                n += Write(buffer.AsSpan(n), ob, vb);
                hasB = b.Next(out ob, out vb);
            }
            else
            {
                n += Write(buffer.AsSpan(n), oa, incomingWins ? vb : va);
                hasA = a.Next(out oa, out va);
                hasB = b.Next(out ob, out vb);
            }
        }

        return buffer.AsSpan(0, n).ToArray();
    }

    /// <summary>The row without the series at <paramref name="offset"/> (empty when it was the only one); null when the row has no entry of it.</summary>
    public static byte[]? Remove(ReadOnlySpan<byte> data, long offset)
    {
        var reader = new Reader(data);
        var before = 0;
        while (reader.Next(out var o, out _))
        {
            if (o == offset)
            {
                var result = new byte[data.Length - (reader.Position - before)];
                data[..before].CopyTo(result);
                data[reader.Position..].CopyTo(result.AsSpan(before));
                return result;
            }

            if (o > offset)
            {
                break;
            }

            before = reader.Position;
        }

        return null;
    }

    /// <summary>Reads a row's entries in order, checking that they are well formed and ascending.</summary>
    public ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private long _last = long.MinValue;

        /// <summary>Bytes read so far.</summary>
        public int Position { get; private set; }

        /// <summary>The next entry; false at the row's end.</summary>
        /// <exception cref="StorageException">The row is truncated, or its entries are not in ascending order.</exception>
        public bool Next(out long offset, out double value)
        {
            if (Position >= _data.Length)
            {
                offset = 0;
                value = 0;
                return false;
            }

            ulong raw = 0;
            var shift = 0;
            while (true)
            {
                if (Position >= _data.Length || shift > 63)
                {
                    throw Damaged($"an entry's series is cut short at byte {Position}");
                }

                var b = _data[Position++];
                if (shift == 63 && b > 1)
                {
                    throw Damaged($"an entry's series overflows 64 bits at byte {Position - 1}");
                }

                raw |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    break;
                }

                shift += 7;
            }

            offset = ChunkReader.UnZigZag(raw);
            if (Position + 8 > _data.Length)
            {
                throw Damaged($"an entry's value is cut short at byte {Position}");
            }

            if (offset <= _last)
            {
                throw Damaged($"series offset {offset} follows {_last}");
            }

            value = BinaryPrimitives.ReadDoubleLittleEndian(_data[Position..]);
            Position += 8;
            _last = offset;
            return true;
        }
    }

    private static StorageException Damaged(string what)
    {
        var e = new InvalidDataException($"a hot samples row is damaged: {what}");
        return new StorageException(e.Message, e, StorageHealth.Failing, "damaged hot row");
    }

    private static int WriteVarint(Span<byte> destination, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            destination[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[n++] = (byte)value;
        return n;
    }
}
