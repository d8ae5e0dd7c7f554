using System.Buffers.Binary;
using System.Data.Common;
using System.Globalization;
using System.Numerics;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Copy;

/// <summary>
/// One row of a <see cref="HistoryStreamId"/>, as a store holds it, without the stream's identity (the series, source
/// or KPI) and without any store's own ids. A backend reads its rows into these and writes these into its tables.
/// </summary>
public abstract record HistoryRow
{
    /// <summary>The row's key within its stream: rows of a stream are ordered by it (unix milliseconds UTC).</summary>
    public abstract long Key { get; }

    /// <summary>Every column the copy carries, folded into <paramref name="hash"/> (what the checksums are made of).</summary>
    internal abstract void Fold(ref RowHash hash);

    /// <summary>Why the row cannot be copied as it is (its stored bytes are damaged), or null: it can.</summary>
    /// <param name="stream">The stream it was read from, for the message.</param>
    internal virtual string? Damage(HistoryStreamId stream) => null;
}

/// <summary>A raw sample of a series.</summary>
/// <param name="Ts">Unix milliseconds UTC; unique within the series.</param>
public sealed record HistorySampleRow(long Ts, double Value) : HistoryRow
{
    /// <inheritdoc/>
    public override long Key => Ts;

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(Ts);
        hash.Add(Value);
    }
}

/// <summary>
/// A sealed chunk of a series exactly as stored: the range it covers, the columns stored beside it, and its bytes
/// (<see cref="ChunkCodec"/>), which a copy moves as they are: decoded once to check them (<see cref="Damage"/>),
/// never turned into sample rows nor encoded again.
/// </summary>
/// <param name="StartTs">The start of the hour or UTC day it covers, unix milliseconds UTC; unique within the series.</param>
/// <param name="EndTs">One past the range's end, unix milliseconds UTC.</param>
/// <param name="Count">Samples in the chunk, as its row says.</param>
/// <param name="MinTs">Its oldest sample's ts, as its row says.</param>
/// <param name="MaxTs">Its newest sample's ts, as its row says.</param>
/// <param name="Data">The chunk's bytes as stored.</param>
public sealed record HistoryChunkRow(long StartTs, long EndTs, long Count, long MinTs, long MaxTs, ReadOnlyMemory<byte> Data) : HistoryRow
{
    /// <summary>The bytes of chunks a page holds at most, 16 MiB: a page ends after the row that reaches it.</summary>
    public const int PageBytes = 16 * 1024 * 1024;

    /// <inheritdoc/>
    public override long Key => StartTs;

    /// <summary>What a chunk of <paramref name="stream"/>'s series over [<paramref name="startTs"/>,
    /// <paramref name="endTs"/>) that cannot be copied is called in messages, with why.</summary>
    public static string Damaged(HistoryStreamId stream, long startTs, long endTs, string why)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return $"the chunk of {stream.Name}/{stream.Part} for {Instant(startTs)} to {Instant(endTs)} (start_ts {startTs.ToString(CultureInfo.InvariantCulture)}) is damaged: {why}";
    }

    /// <summary>
    /// The chunk at a reader's current row, whose columns are start, end, count, min ts, max ts, the stored length of
    /// its bytes (a bigint) and its bytes, which the query gives only when that length is at most
    /// <see cref="ChunkCodec.MaxBytes"/>; <paramref name="bytes"/> grows by the length.
    /// </summary>
    /// <exception cref="StorageException">Longer than any chunk can be: refused without being loaded.</exception>
    public static HistoryChunkRow Read(HistoryStreamId stream, DbDataReader reader, ref long bytes)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var length = reader.GetInt64(5);
        if (length > ChunkCodec.MaxBytes)
        {
            throw new StorageException(Damaged(stream, reader.GetInt64(0), reader.GetInt64(1), TooLongWhy(length)), null, StorageHealth.Failing, "damaged chunk");
        }

        bytes += length;
        return new HistoryChunkRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetFieldValue<byte[]>(6));
    }

    private static string TooLongWhy(long bytes) => $"it is {bytes} bytes, more than a chunk can be ({ChunkCodec.MaxBytes})";

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(StartTs);
        hash.Add(EndTs);
        hash.Add(Count);
        hash.Add(MinTs);
        hash.Add(MaxTs);
        hash.Add(Data.Span);
    }

    /// <summary>
    /// Decodes the chunk once (its checksum, then every sample) and checks it against its row: as many samples as the
    /// row says, its oldest and newest ts as the row says, all inside its range. Bytes that pass are copied as they are.
    /// </summary>
    internal override string? Damage(HistoryStreamId stream)
    {
        string? why = null;
        if (Data.Length > ChunkCodec.MaxBytes)
        {
            why = TooLongWhy(Data.Length);
        }
        else
        {
            try
            {
                var points = ChunkCodec.Decode(Data.Span);
                var (min, max) = points.Length == 0 ? (0L, 0L) : (points.Min(p => p.TimestampMs), points.Max(p => p.TimestampMs));
                if (points.Length == 0 || points.Length != Count)
                {
                    why = $"it holds {points.Length} samples, its row says {Count}";
                }
                else if (min != MinTs || max != MaxTs)
                {
                    why = $"its samples span {min} to {max}, its row says {MinTs} to {MaxTs}";
                }
                else if (min < StartTs || max >= EndTs)
                {
                    why = $"its samples span {min} to {max}, outside its range";
                }
            }
            catch (InvalidDataException e)
            {
                why = e.Message;
            }
        }

        return why is null ? null : Damaged(stream, StartTs, EndTs, why);
    }

    private static string Instant(long ms) =>
        ms is >= -62_135_596_800_000 and <= 253_402_300_799_999
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)
            : ms.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A rollup bucket of a series (hour or UTC day) exactly as stored, its sketch as its stored bytes.</summary>
/// <param name="StartTs">The bucket's start, unix milliseconds UTC; unique within the series and level.</param>
/// <param name="Sketch">The bucket's quantile sketch, as stored (<c>QuantileSketch.ToBytes</c>); never decoded by a copy.</param>
public sealed record HistoryRollupRow(
    long StartTs,
    long Count,
    double Sum,
    double Min,
    double Max,
    long FirstTs,
    double FirstValue,
    long LastTs,
    double LastValue,
    double Increase,
    ReadOnlyMemory<byte> Sketch) : HistoryRow
{
    /// <inheritdoc/>
    public override long Key => StartTs;

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(StartTs);
        hash.Add(Count);
        hash.Add(Sum);
        hash.Add(Min);
        hash.Add(Max);
        hash.Add(FirstTs);
        hash.Add(FirstValue);
        hash.Add(LastTs);
        hash.Add(LastValue);
        hash.Add(Increase);
        hash.Add(Sketch.Span);
    }
}

/// <summary>A poll of a source.</summary>
/// <param name="Ts">When it started, unix milliseconds UTC (not unique: two polls may share a millisecond).</param>
/// <param name="DurationMs">Its wall time in milliseconds.</param>
/// <param name="Outcome"><c>success</c> or <c>failure</c>.</param>
/// <param name="Reason">Why it failed; null on success.</param>
public sealed record HistoryPollRow(long Ts, double DurationMs, string Outcome, string? Reason) : HistoryRow
{
    /// <inheritdoc/>
    public override long Key => Ts;

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(Ts);
        hash.Add(DurationMs);
        hash.Add(Outcome);
        hash.Add(Reason);
    }
}

/// <summary>A stored evaluation of a KPI.</summary>
/// <param name="Ts">When, unix milliseconds UTC (not unique).</param>
/// <param name="Value">Null: no data.</param>
/// <param name="Rules">The version of the status rules it was judged under.</param>
public sealed record HistoryEvaluationRow(long Ts, double? Value, double? Target, string Status, long Rules) : HistoryRow
{
    /// <inheritdoc/>
    public override long Key => Ts;

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(Ts);
        hash.Add(Value);
        hash.Add(Target);
        hash.Add(Status);
        hash.Add(Rules);
    }
}

/// <summary>A computed baseline of a KPI; unique by (initiative, KPI, from, to, definition).</summary>
/// <param name="FromDate">YYYY-MM-DD, inclusive.</param>
/// <param name="ToDate">YYYY-MM-DD, inclusive.</param>
/// <param name="Definition">What was measured: aggregate(source:signal/denominators).</param>
/// <param name="ComputedAt">Unix milliseconds UTC: the row's key.</param>
public sealed record HistoryBaselineRow(string FromDate, string ToDate, string Definition, double Value, long Samples, long ComputedAt) : HistoryRow
{
    /// <inheritdoc/>
    public override long Key => ComputedAt;

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(ComputedAt);
        hash.Add(FromDate);
        hash.Add(ToDate);
        hash.Add(Definition);
        hash.Add(Value);
        hash.Add(Samples);
    }
}

/// <summary>What one scheduled fire of an update covered and how it ended; unique by (name, fire).</summary>
/// <param name="FireTs">The scheduled fire, unix milliseconds UTC: the row's key.</param>
/// <param name="EndedTs">When it was sent, given up, or first scheduled, unix milliseconds UTC.</param>
/// <param name="Outcome"><c>scheduled</c>, <c>success</c> or <c>failure</c>.</param>
/// <param name="Blocked">Success only: the ids of the initiatives blocked then, comma-separated.</param>
public sealed record HistoryDeliveryRow(long FireTs, long EndedTs, string Outcome, long Attempts, string? Blocked) : HistoryRow
{
    /// <inheritdoc/>
    public override long Key => FireTs;

    internal override void Fold(ref RowHash hash)
    {
        hash.Add(FireTs);
        hash.Add(EndedTs);
        hash.Add(Outcome);
        hash.Add(Attempts);
        hash.Add(Blocked);
    }
}

/// <summary>
/// A 64-bit hash of one row's columns, in order: each 64-bit word (an integer, a double's IEEE-754 bits, a string's
/// length then its UTF-16 code units, a byte string's length then its bytes eight at a time, little-endian, the last
/// word padded with zeros) goes through the MurmurHash3 finalizer
/// and is folded in with a multiply and a rotation. Not cryptographic: it finds what a copy lost or changed, not what
/// someone forged.
/// </summary>
internal struct RowHash
{
    private const ulong Seed = 0x243F6A8885A308D3UL;
    private const ulong Multiplier = 0x9E3779B97F4A7C15UL;
    private const ulong NullMark = 0xD1B54A32D192ED03UL;

    private ulong _state;
    private bool _started;

    public readonly ulong Value => Finalize(_started ? _state : Seed);

    public void Add(long value) => Word((ulong)value);

    public void Add(double value) => Word((ulong)BitConverter.DoubleToInt64Bits(value));

    public void Add(double? value)
    {
        if (value is { } v)
        {
            Word(1);
            Add(v);
        }
        else
        {
            Word(NullMark);
        }
    }

    public void Add(string? value)
    {
        if (value is null)
        {
            Word(NullMark);
            return;
        }

        Word((ulong)value.Length);
        foreach (var c in value)
        {
            Word(c);
        }
    }

    public void Add(ReadOnlySpan<byte> bytes)
    {
        Word((ulong)bytes.Length);
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            Word(BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]));
        }

        if (i < bytes.Length)
        {
            Span<byte> tail = stackalloc byte[8];
            tail.Clear();
            bytes[i..].CopyTo(tail);
            Word(BinaryPrimitives.ReadUInt64LittleEndian(tail));
        }
    }

    private void Word(ulong w)
    {
        if (!_started)
        {
            _state = Seed;
            _started = true;
        }

        _state = BitOperations.RotateLeft((_state ^ Finalize(w)) * Multiplier, 29);
    }

    /// <summary>MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.</summary>
    public static ulong Finalize(ulong k)
    {
        k ^= k >> 33;
        k *= 0xFF51AFD7ED558CCDUL;
        k ^= k >> 33;
        k *= 0xC4CEB9FE1A85EC53UL;
        k ^= k >> 33;
        return k;
    }
}
