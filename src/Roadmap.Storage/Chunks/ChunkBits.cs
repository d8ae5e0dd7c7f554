namespace Roadmap.Storage.Chunks;

/// <summary>
/// The byte and bit writer of the chunk format: varints, raw bytes and little-endian bit fields (least significant
/// bit first) in one growable buffer. A bit field is ended by <see cref="AlignToByte"/> before bytes follow.
/// </summary>
internal sealed class ChunkWriter(int capacity)
{
    private byte[] _buffer = new byte[Math.Max(16, capacity)];
    private ulong _bits; // pending bits, fewer than 8 between calls
    private int _bitCount;

    public int Length { get; private set; }

    public void WriteByte(byte b)
    {
        Ensure(1);
        _buffer[Length++] = b;
    }

    public void WriteVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[Length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[Length++] = (byte)value;
    }

    public void WriteSigned(long value) => WriteVarint(ZigZag(value));

    public void WriteUInt64(ulong value)
    {
        Ensure(8);
        BitConverter.TryWriteBytes(_buffer.AsSpan(Length, 8), value);
        Length += 8;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(Length));
        Length += bytes.Length;
    }

    public void WriteUInt32(uint value)
    {
        Ensure(4);
        BitConverter.TryWriteBytes(_buffer.AsSpan(Length, 4), value);
        Length += 4;
    }

    /// <summary>A double as its significant bytes from the top (sign, exponent, high mantissa) after a count byte:
    /// round values (1, 0, 200) take 1 to 3 bytes, a full-precision one 9.</summary>
    public void WriteTrimmedDouble(double value)
    {
        var bits = (ulong)BitConverter.DoubleToInt64Bits(value);
        var n = bits == 0 ? 0 : 8 - (System.Numerics.BitOperations.TrailingZeroCount(bits) / 8);
        WriteByte((byte)n);
        for (var i = 0; i < n; i++)
        {
            WriteByte((byte)(bits >> (56 - (8 * i))));
        }
    }

    /// <summary>Writes the low <paramref name="count"/> bits (0 to 64) of <paramref name="value"/>.</summary>
    public void WriteBits(ulong value, int count)
    {
        if (count > 32)
        {
            WriteBits(value & 0xFFFF_FFFF, 32);
            WriteBits(value >> 32, count - 32);
            return;
        }

        if (count == 0)
        {
            return;
        }

        _bits |= (value & ((1UL << count) - 1)) << _bitCount;
        _bitCount += count;
        Ensure(5);
        while (_bitCount >= 8)
        {
            _buffer[Length++] = (byte)_bits;
            _bits >>= 8;
            _bitCount -= 8;
        }
    }

    public void AlignToByte()
    {
        if (_bitCount > 0)
        {
            WriteByte((byte)_bits);
            _bits = 0;
            _bitCount = 0;
        }
    }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public byte[] ToArray() => _buffer.AsSpan(0, Length).ToArray();

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private void Ensure(int more)
    {
        if (Length + more > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + more));
        }
    }
}

/// <summary>
/// Reads what <see cref="ChunkWriter"/> wrote. Every read is bounded by the input: reading past its end, a varint
/// longer than 10 bytes or a field that does not fit throws <see cref="InvalidDataException"/>, never anything else.
/// </summary>
internal ref struct ChunkReader(ReadOnlySpan<byte> input)
{
    private readonly ReadOnlySpan<byte> _input = input;
    private ulong _bits;
    private int _bitCount;

    public int Position { get; private set; }

    public readonly int Remaining => _input.Length - Position;

    public byte ReadByte()
    {
        if (Position >= _input.Length)
        {
            throw Corrupt("it ends early");
        }

        return _input[Position++];
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            if (shift == 63 && b > 1)
            {
                throw Corrupt("a varint overflows 64 bits");
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Corrupt("a varint overflows 64 bits");
    }

    public long ReadSigned() => UnZigZag(ReadVarint());

    /// <summary>A varint that must be at most <paramref name="max"/> (a count or an offset).</summary>
    public int ReadCount(long max, string what)
    {
        var value = ReadVarint();
        if (max < 0 || value > (ulong)max)
        {
            throw Corrupt($"{what} {value} exceeds {max}");
        }

        return (int)value;
    }

    /// <summary>What is left of the input.</summary>
    public readonly ReadOnlySpan<byte> Rest => _input[Position..];

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || Remaining < count)
        {
            throw Corrupt("it ends early");
        }

        var bytes = _input.Slice(Position, count);
        Position += count;
        return bytes;
    }

    public ulong ReadUInt64()
    {
        if (Remaining < 8)
        {
            throw Corrupt("it ends early");
        }

        var value = BitConverter.ToUInt64(_input.Slice(Position, 8));
        Position += 8;
        return value;
    }

    public double ReadTrimmedDouble()
    {
        var n = ReadByte();
        if (n > 8)
        {
            throw Corrupt($"a double of {n} bytes");
        }

        ulong bits = 0;
        for (var i = 0; i < n; i++)
        {
            bits |= (ulong)ReadByte() << (56 - (8 * i));
        }

        return BitConverter.Int64BitsToDouble((long)bits);
    }

    public ulong ReadBits(int count)
    {
        if (count > 32)
        {
            var low = ReadBits(32);
            return low | (ReadBits(count - 32) << 32);
        }

        while (_bitCount < count)
        {
            _bits |= (ulong)ReadByte() << _bitCount;
            _bitCount += 8;
        }

        var value = _bits & ((1UL << count) - 1);
        _bits >>= count;
        _bitCount -= count;
        return value;
    }

    public void AlignToByte()
    {
        _bits = 0;
        _bitCount = 0;
    }

    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    public static InvalidDataException Corrupt(string why) => new($"corrupt chunk: {why}");
}
