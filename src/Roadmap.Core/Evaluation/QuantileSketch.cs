using System.Numerics;
using System.Runtime.CompilerServices;

namespace Roadmap.Core.Evaluation;

/// <summary>
/// A mergeable quantile summary (DDSketch: Masson, Rim, Lee, VLDB 2019) so a long KPI window can be answered from
/// per-period rollups instead of every raw sample.
/// </summary>
/// <remarks>
/// <para>A value x &gt; 0 is counted in bucket i = ceil(log_gamma(x)), which covers (gamma^(i-1), gamma^i], with
/// gamma = (1 + a) / (1 - a) and relative accuracy a = <see cref="RelativeAccuracy"/> (0.5 %). The bucket reports
/// 2 gamma^i / (gamma + 1), which is within a of every value in it. Negative values go to a second store by their
/// magnitude; zero (and any magnitude below <see cref="MinMagnitude"/>, the smallest normal double) to a zero count.
/// Merging adds bucket counts, so a merge of any number of sketches is exactly the sketch of all their values: the
/// accuracy does not degrade with merges.</para>
/// <para><see cref="Quantile"/> uses the same rank interpolation as <see cref="Aggregates.Quantile"/> (numpy's
/// default): the values at ranks floor(q(n-1)) and ceil(q(n-1)) are each within 0.5 % of the exact ones, so the
/// interpolated answer is within 0.5 % of the exact answer when those two have the same sign, and within 0.5 % of
/// the larger magnitude of the two when they straddle zero.</para>
/// <para>NaN and +/-Infinity are ignored (not counted): sources rarely send infinities, and a throw here would fail a
/// whole storage batch. A window holding infinities therefore has exact aggregates (sum, max, ...) that see them
/// and sketch quantiles that do not.</para>
/// <para>Memory is bounded: each store keeps at most <see cref="MaxBinsPerStore"/> contiguous buckets (a range of
/// magnitudes of gamma^2048, about 7.8e8 or 8.9 decades). When the values of one sign span more than that, the lowest-magnitude
/// buckets are folded into the lowest kept one: quantiles that land among those small magnitudes are reported as
/// that bucket's (larger) value, while quantiles among the kept magnitudes keep the 0.5 % guarantee. Counts, ranks
/// and everything at the high-magnitude end stay exact.</para>
/// <para>Not thread-safe.</para>
/// </remarks>
public sealed class QuantileSketch
{
    /// <summary>The relative accuracy a of every reported quantile (0.005 = 0.5 %).</summary>
    public const double RelativeAccuracy = 0.005;

    /// <summary>The most buckets one store (positive or negative values) keeps before collapsing the lowest ones.</summary>
    // ToBytes' scratch buffer, one per thread: sketches are encoded on the writer's thread and by readers.
    [ThreadStatic]
    private static byte[]? _scratch;

    public const int MaxBinsPerStore = 2048;

    /// <summary>Magnitudes below this (the smallest normal double) are counted as zero.</summary>
    public const double MinMagnitude = 2.2250738585072014E-308;

    /// <summary>The first byte of <see cref="ToBytes"/>; bumped when the encoding or the bucket mapping changes.</summary>
    public const byte FormatVersion = 1;

    private const double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);
    private static readonly double IndexMultiplier = 1 / LogGamma;

    // ln(2 / (gamma + 1)): shifts a bucket's upper bound to its representative value.
    private static readonly double LogRepresentativeShift = Math.Log(2 / (Gamma + 1));

    /// <summary>The lowest and highest bucket index a finite value can map to; anything else in bytes is corrupt.</summary>
    private static readonly int LowestIndex = IndexOf(MinMagnitude);
    private static readonly int HighestIndex = IndexOf(double.MaxValue);

    // The buckets MergeFrom parses before it merges them: one set per thread, so merges into different sketches on
    // different threads never share it.
    [ThreadStatic]
    private static ParsedBuckets? _parsed;

    private readonly Store _positive;
    // Made on the first negative value: most signals (latencies, sizes, counts) never have one, and the writer keeps
    // an open hour's sketch per series in memory.
    private Store? _negative;
    private long _zero;
    private readonly bool _compact;

    /// <summary>An empty sketch.</summary>
    public QuantileSketch()
        : this(compact: false)
    {
    }

    private QuantileSketch(bool compact)
    {
        _compact = compact;
        _positive = new Store(compact);
    }

    /// <summary>
    /// An empty sketch that keeps its counts in bytes while every bucket's count fits one (then as wide as its total
    /// needs, like any sketch): about half the memory of a sketch of a few thousand values spread over hundreds of
    /// buckets, for a little more CPU per add, merge and encoding. For sketches kept in memory by the thousand (the
    /// writer's open hours); the same values give the same quantiles and the same <see cref="ToBytes"/>.
    /// </summary>
    public static QuantileSketch Compact() => new(compact: true);

    /// <summary>How many values the sketch holds (NaN and infinities are not counted).</summary>
    public long Count => _zero + _positive.Total + NegativeTotal;

    private long NegativeTotal => _negative?.Total ?? 0;

    /// <summary>Counts one value. NaN and +/-Infinity are ignored; see the class remarks.</summary>
    public void Add(double value)
    {
        if (value >= MinMagnitude)
        {
            if (value <= double.MaxValue)
            {
                _positive.Add(IndexOf(value), 1);
            }
        }
        else if (value <= -MinMagnitude)
        {
            if (value >= double.MinValue)
            {
                (_negative ??= new(_compact)).Add(IndexOf(-value), 1);
            }
        }
        else if (!double.IsNaN(value))
        {
            _zero++;
        }
    }

    /// <summary>Empties the sketch, keeping its arrays for the values added next: a scratch sketch reused for many
    /// short summaries allocates once.</summary>
    public void Clear()
    {
        _positive.Clear();
        _negative?.Clear();
        _zero = 0;
    }

    /// <summary>Adds every value of <paramref name="other"/> to this sketch; <paramref name="other"/> is unchanged.</summary>
    public void Merge(QuantileSketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _positive.Merge(other._positive);
        if (other._negative is { Total: > 0 } negative)
        {
            (_negative ??= new(_compact)).Merge(negative);
        }

        _zero += other._zero;
    }

    /// <summary>
    /// Merges the sketch encoded in <paramref name="bytes"/> (from <see cref="ToBytes"/>) into this one without
    /// building an intermediate sketch: the cheap way to merge many stored rollups (no allocation unless this
    /// sketch's range grows). The bytes are checked completely first, so on a <see cref="FormatException"/> this
    /// sketch is unchanged.
    /// </summary>
    /// <exception cref="FormatException">The bytes are not a sketch of this version (truncated, corrupt, trailing bytes).</exception>
    public void MergeFrom(ReadOnlySpan<byte> bytes)
    {
        // Parsed once: the buckets are checked and collected first, then merged. A long window merges hundreds of
        // day rollups per KPI, and parsing is most of a merge's cost.
        var parsed = _parsed ??= new ParsedBuckets();
        var zero = Decode(bytes, parsed);
        _positive.MergeParsed(parsed.Positive);
        if (parsed.Negative.Length > 0)
        {
            (_negative ??= new(_compact)).MergeParsed(parsed.Negative);
        }
        _zero += (long)zero;
    }

    /// <summary>
    /// The q-quantile, interpolated between the closest ranks like <see cref="Aggregates.Quantile"/>; within
    /// <see cref="RelativeAccuracy"/> of the exact value (see the class remarks). Null when the sketch is empty.
    /// </summary>
    /// <param name="q">The quantile in [0, 1], e.g. 0.99 for p99.</param>
    public double? Quantile(double q)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "a quantile must be between 0 and 1");
        }

        var count = Count;
        if (count == 0)
        {
            return null;
        }

        var rank = q * (count - 1);
        var lo = (long)Math.Floor(rank);
        var hi = Math.Min((long)Math.Ceiling(rank), count - 1);
        var low = ValueAtRank(lo);
        if (hi == lo)
        {
            return low;
        }

        return low + ((ValueAtRank(hi) - low) * (rank - lo));
    }

    /// <summary>
    /// A compact encoding: a version byte, then unsigned LEB128 varints: the zero count, then for the positive and
    /// the negative store the number of non-empty buckets and, when there are any, the first bucket index (zigzag),
    /// the last index minus the first (so a reader sizes its array once), the first bucket's count, and for each
    /// further bucket the gap to the previous index minus one and its count. Typically 2 bytes a bucket.
    /// </summary>
    /// <remarks>
    /// Written in one pass into a scratch buffer of the thread's (sized for the worst case of the stores' ranges) and
    /// copied out at its exact length: the writer encodes every rollup it touches on every flush, and the three walks
    /// over every bucket of the range that sizing the array first took were most of its CPU.
    /// </remarks>
    public byte[] ToBytes()
    {
        // At most 10 bytes a varint: the zero count, and per store the bucket count, first index, range, and a gap
        // and a count per bucket.
        var bound = 1 + 10 + (2 * 30) + (20 * (_positive.RangeLength + (_negative?.RangeLength ?? 0)));
        var scratch = _scratch is { } kept && kept.Length >= bound ? kept : (_scratch = new byte[Math.Max(bound, 4096)]);
        scratch[0] = FormatVersion;
        var at = 1;
        WriteVarint(scratch, ref at, (ulong)_zero);
        _positive.Encode(scratch, ref at);
        if (_negative is null)
        {
            WriteVarint(scratch, ref at, 0); // an empty store, as Store.Encode writes one
        }
        else
        {
            _negative.Encode(scratch, ref at);
        }
        return scratch.AsSpan(0, at).ToArray();
    }

    /// <summary>Reads a sketch written by <see cref="ToBytes"/>.</summary>
    /// <exception cref="FormatException">The bytes are not a sketch of this version (truncated, corrupt, trailing bytes).</exception>
    public static QuantileSketch FromBytes(ReadOnlySpan<byte> bytes)
    {
        var sketch = new QuantileSketch();
        sketch.MergeFrom(bytes);
        return sketch;
    }

    private static int IndexOf(double magnitude) => (int)Math.Ceiling(Math.Log(magnitude) * IndexMultiplier);

    private static double ValueOf(int index)
    {
        var value = Math.Exp((index * LogGamma) + LogRepresentativeShift);
        return value > double.MaxValue ? double.MaxValue : value;
    }

    /// <summary>The value of the k-th smallest counted value (0-based), to within the relative accuracy.</summary>
    private double ValueAtRank(long k)
    {
        var negatives = NegativeTotal;
        if (k < negatives)
        {
            // The most negative values have the highest magnitude index, so walk the negative store downwards.
            return -ValueOf(_negative!.IndexAtRankFromTop(k));
        }

        k -= negatives;
        if (k < _zero)
        {
            return 0;
        }

        return ValueOf(_positive.IndexAtRankFromBottom(k - _zero));
    }

    /// <summary>Parses and checks <paramref name="bytes"/>, collecting their buckets in <paramref name="into"/>.
    /// Returns the zero count.</summary>
    private static ulong Decode(ReadOnlySpan<byte> bytes, ParsedBuckets into)
    {
        if (bytes.IsEmpty)
        {
            throw new FormatException("quantile sketch bytes are empty");
        }

        if (bytes[0] != FormatVersion)
        {
            throw new FormatException($"quantile sketch bytes have version {bytes[0]}; this build reads version {FormatVersion}");
        }

        var at = 1;
        var zero = ReadVarint(bytes, ref at, Field.ZeroCount, "", 0);
        if (zero > long.MaxValue)
        {
            throw new FormatException($"quantile sketch bytes: zero count {zero} is out of range");
        }

        var total = (long)zero;
        total = DecodeStore(bytes, ref at, "positive", into.Positive, total);
        DecodeStore(bytes, ref at, "negative", into.Negative, total);
        if (at != bytes.Length)
        {
            throw new FormatException($"quantile sketch bytes: {bytes.Length - at} unexpected byte(s) after the end at byte {at}");
        }

        return zero;
    }

    private static long DecodeStore(ReadOnlySpan<byte> bytes, ref int at, string name, StoreBuckets into, long total)
    {
        into.Clear();
        var bins = ReadVarint(bytes, ref at, Field.BucketCount, name, 0);
        if (bins > MaxBinsPerStore)
        {
            throw new FormatException($"quantile sketch bytes: {bins} {name} buckets, more than the {MaxBinsPerStore} a store holds");
        }

        if (bins == 0)
        {
            return total;
        }

        var zigzag = ReadVarint(bytes, ref at, Field.Index, name, 0);
        long index = (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
        var span = ReadVarint(bytes, ref at, Field.Span, name, 0);
        if (span >= MaxBinsPerStore || span + 1 < bins)
        {
            throw new FormatException($"quantile sketch bytes: the {name} buckets span {span + 1} indexes, which cannot hold {bins} buckets within the {MaxBinsPerStore} a store holds");
        }

        var last = index + (long)span;
        if (index < LowestIndex || last > HighestIndex)
        {
            throw new FormatException($"quantile sketch bytes: {name} bucket indexes {index}..{last} are outside the range a finite value maps to");
        }

        var indexes = into.IndexBuffer;
        var counts = into.CountBuffer;
        var before = total;
        for (var i = 0; i < (int)bins; i++)
        {
            if (i > 0)
            {
                var gap = ReadVarint(bytes, ref at, Field.Index, name, i);
                if (gap >= (ulong)(last - index))
                {
                    throw new FormatException($"quantile sketch bytes: {name} bucket {i} lies {gap + 1} buckets after the previous one, beyond the declared last index {last}");
                }

                index += (long)gap + 1;
            }

            var count = ReadVarint(bytes, ref at, Field.Count, name, i);
            if (count == 0 || count > (ulong)(long.MaxValue - total))
            {
                throw new FormatException($"quantile sketch bytes: {name} bucket {i} has count {count}, which is zero or makes the total overflow");
            }

            total += (long)count;
            indexes[i] = (int)index;
            counts[i] = (long)count;
        }

        if (index != last)
        {
            throw new FormatException($"quantile sketch bytes: the {name} buckets end at index {index}, not at the declared last index {last}");
        }

        into.Filled((int)bins, total - before);
        return total;
    }

    /// <summary>What a varint holds, so an error can say so without formatting a string for every read.</summary>
    private enum Field
    {
        ZeroCount,
        BucketCount,
        Index,
        Span,
        Count,
    }

    private static string Describe(Field field, string store, int bucket) => field switch
    {
        Field.ZeroCount => "the zero count",
        Field.BucketCount => $"the {store} bucket count",
        Field.Index => $"{store} bucket {bucket}'s index",
        Field.Span => $"the span of the {store} buckets",
        _ => $"{store} bucket {bucket}'s count",
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int at, Field field, string store, int bucket)
    {
        // Most varints here (gaps, small counts) are one byte: that case is inlined into the bucket loop, which runs for
        // every bucket of every rollup a window merges.
        if ((uint)at < (uint)bytes.Length && bytes[at] < 0x80)
        {
            return bytes[at++];
        }

        return ReadLongVarint(bytes, ref at, field, store, bucket);
    }

    private static ulong ReadLongVarint(ReadOnlySpan<byte> bytes, ref int at, Field field, string store, int bucket)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= bytes.Length)
            {
                throw new FormatException($"quantile sketch bytes are truncated: {bytes.Length} byte(s) end while reading {Describe(field, store, bucket)}");
            }

            var b = bytes[at++];
            if (shift == 63 && b > 1)
            {
                throw new FormatException($"quantile sketch bytes: {Describe(field, store, bucket)} at byte {at - 1} does not fit in 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new FormatException($"quantile sketch bytes: {Describe(field, store, bucket)} at byte {at - 1} is longer than 10 bytes");
    }

    private static void WriteVarint(byte[] bytes, ref int at, ulong value)
    {
        while (value >= 0x80)
        {
            bytes[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        bytes[at++] = (byte)value;
    }

    private static ulong ZigZag(int value) => (ulong)(uint)((value << 1) ^ (value >> 31));

    /// <summary>The checked buckets of one encoded sketch, both signs, kept for the merge that follows the parse.</summary>
    private sealed class ParsedBuckets
    {
        public StoreBuckets Positive { get; } = new();

        public StoreBuckets Negative { get; } = new();
    }

    /// <summary>One store's non-empty buckets as parsed, in ascending index order (at most <see cref="MaxBinsPerStore"/>).</summary>
    private sealed class StoreBuckets
    {
        private readonly int[] _indexes = new int[MaxBinsPerStore];
        private readonly long[] _counts = new long[MaxBinsPerStore];

        public int Length { get; private set; }

        /// <summary>The sum of the counts.</summary>
        public long Total { get; private set; }

        public ReadOnlySpan<int> Indexes => _indexes.AsSpan(0, Length);

        public ReadOnlySpan<long> Counts => _counts.AsSpan(0, Length);

        /// <summary>Room for every bucket a store can hold, filled by the parser before <see cref="Filled"/>.</summary>
        public Span<int> IndexBuffer => _indexes;

        /// <inheritdoc cref="IndexBuffer"/>
        public Span<long> CountBuffer => _counts;

        public void Clear() => (Length, Total) = (0, 0);

        /// <summary>Marks the first <paramref name="length"/> slots of the buffers as the parsed buckets.</summary>
        public void Filled(int length, long total) => (Length, Total) = (length, total);
    }

    /// <summary>
    /// Bucket counts for one sign: a dense array over at most <see cref="MaxBinsPerStore"/> contiguous indexes. The
    /// counts are bytes while every bucket's count fits in one (a compact store only), then the narrowest of ushort,
    /// int and long that the store's total fits (so no bucket can overflow); a store never moves back to narrower counts except when a
    /// <see cref="Reserve"/> on an empty store allocates anew. The writer keeps an open hour per series in memory
    /// (90,000 of them at 10,000 http sources), so the width of a count and the spare room an array keeps are most of
    /// its memory.
    /// </summary>
    /// <param name="compact">Counts start as bytes (see <see cref="Compact"/>); else as ushorts.</param>
    private sealed class Store(bool compact)
    {
        // Spare room beyond the bucket cap so a store at the cap whose range keeps moving (a growing counter) does
        // not reallocate on every new highest bucket.
        private const int Slack = 256;
        private const int InitialLength = 16;

        // The counts live in bytes while every bucket's count fits one: an hour of 1 s samples spread over hundreds of
        // buckets (a latency's microsecond jitter spans 4 decades, 900 buckets) rarely puts 256 in one. A bucket that
        // would pass 255 moves the store to the narrowest array its total fits: ushort while the total does (an hour
        // of 1 s samples always does), then int, then long. Exactly one array holds them.
        // Only in a compact store (QuantileSketch.Compact): bytes cost a check on every add and encode a little
        // slower, which the sketches a reader builds and drops need not pay.
        private byte[]? _byte = compact ? [] : null;
        private ushort[]? _short = compact ? null : [];
        private int[] _counts = [];
        private long[]? _wide; // once the total passed int.MaxValue: holds the counts, and _counts is empty
        private int _offset; // the bucket index of the first array slot
        private int _min;
        private int _max;

        public long Total { get; private set; }

        private int Length => _byte?.Length ?? _short?.Length ?? _wide?.Length ?? _counts.Length;

        public void Add(int index, long count)
        {
            if (Total == 0)
            {
                if (Length == 0)
                {
                    (_byte, _short, _counts, _wide) = compact
                        ? (new byte[InitialLength], null, [], null)
                        : ((byte[]?)null, new ushort[InitialLength], (int[])[], (long[]?)null);
                    _offset = index - (InitialLength / 2);
                }
                else if (index < _offset || index >= _offset + Length)
                {
                    _offset = index - (Length / 2);
                }

                _min = _max = index;
            }
            else if (index < _min)
            {
                // Too far below the highest bucket: fold into the lowest bucket kept.
                index = Math.Max(index, _max - MaxBinsPerStore + 1);
                if (index < _min)
                {
                    Cover(index, _max);
                }
            }
            else if (index > _max)
            {
                var lowest = index - MaxBinsPerStore + 1;
                if (lowest > _min)
                {
                    CollapseBelow(lowest);
                }

                Cover(_min, index);
            }

            AddReserved(index, count);
        }

        /// <summary>Zeroes every count (an empty store's array is all zeros: <see cref="Reserve"/> relies on it) and keeps
        /// the array.</summary>
        public void Clear()
        {
            if (Total == 0)
            {
                return;
            }

            if (_byte is not null)
            {
                Array.Clear(_byte);
            }
            else if (_short is not null)
            {
                Array.Clear(_short);
            }
            else if (_wide is null)
            {
                Array.Clear(_counts);
            }
            else
            {
                Array.Clear(_wide);
            }

            Total = 0;
        }

        public void Merge(Store other)
        {
            if (other.Total == 0)
            {
                return;
            }

            var low = Total == 0 ? other._min : Math.Min(_min, other._min);
            var high = Total == 0 ? other._max : Math.Max(_max, other._max);
            // Into an empty store, counts that once passed a byte go straight to their width.
            if (Reserve(low, high, other._byte is null ? other.Total : 0))
            {
                // The common case: no collapse, so add the ranges bucket for bucket.
                var length = other._max - other._min + 1;
                var at = other._min - _offset;
                var from = other._min - other._offset;
                if (_byte is not null && !other.SumsFitBytes(_byte.AsSpan(at, length), from))
                {
                    WidenFromBytes(Total + other.Total);
                }

                WidenFor(other.Total);

                // Bytes: every sum was just checked to fit. Wider: counts never move to a narrower array, and the wider
                // the total the wider the array, so the other's counts fit these.
                if (_byte is not null)
                {
                    other.AddCountsTo(_byte.AsSpan(at, length), from);
                }
                else if (_short is not null)
                {
                    other.AddCountsTo(_short.AsSpan(at, length), from);
                }
                else if (_wide is null)
                {
                    other.AddCountsTo(_counts.AsSpan(at, length), from);
                }
                else
                {
                    other.AddCountsTo(_wide.AsSpan(at, length), from);
                }

                Total += other.Total;
                return;
            }

            // From the top down, so the range is settled by the first bucket and lower ones fold in directly.
            for (var i = other._max; i >= other._min; i--)
            {
                var count = other.CountAt(i - other._offset);
                if (count != 0)
                {
                    Add(i, count);
                }
            }
        }

        /// <summary>Adds parsed buckets exactly as decoding them straight into this store does: reserved at once
        /// when that needs no collapse, else one by one.</summary>
        public void MergeParsed(StoreBuckets buckets)
        {
            var indexes = buckets.Indexes;
            var counts = buckets.Counts;
            if (indexes.IsEmpty)
            {
                return;
            }

            // Into an empty store (a window's total merging stored rollups), buckets past a byte go straight to their
            // width rather than to bytes and then a copy.
            if (Reserve(indexes[0], indexes[^1], Total == 0 && PassesAByte(counts) ? buckets.Total : 0))
            {
                // The counts' width settled once for the whole sum (bytes: by every bucket's sum; wider: by the total),
                // then a plain loop.
                var sum = buckets.Total;
                if (_byte is not null && !SumsFitBytes(_byte, _offset, indexes, counts))
                {
                    WidenFromBytes(Total + sum);
                }

                WidenFor(sum);
                if (_byte is not null)
                {
                    AddAt(_byte, indexes, counts);
                }
                else if (_short is not null)
                {
                    AddAt(_short, indexes, counts);
                }
                else if (_wide is null)
                {
                    AddAt(_counts, indexes, counts);
                }
                else
                {
                    AddAt(_wide, indexes, counts);
                }

                Total += sum;
                return;
            }

            for (var i = 0; i < indexes.Length; i++)
            {
                Add(indexes[i], counts[i]);
            }
        }

        private void AddAt<T>(T[] target, ReadOnlySpan<int> indexes, ReadOnlySpan<long> counts)
            where T : struct, IBinaryInteger<T>
        {
            var offset = _offset;
            for (var i = 0; i < indexes.Length; i++)
            {
                target[indexes[i] - offset] += T.CreateTruncating(counts[i]);
            }
        }

        public int IndexAtRankFromBottom(long k)
        {
            long seen = 0;
            for (var i = _min; i <= _max; i++)
            {
                seen += CountAt(i - _offset);
                if (seen > k)
                {
                    return i;
                }
            }

            return _max;
        }

        public int IndexAtRankFromTop(long k)
        {
            long seen = 0;
            for (var i = _max; i >= _min; i--)
            {
                seen += CountAt(i - _offset);
                if (seen > k)
                {
                    return i;
                }
            }

            return _min;
        }

        /// <summary>The buckets the range spans (empty ones included); 0 when the store is empty.</summary>
        public int RangeLength => Total == 0 ? 0 : _max - _min + 1;

        /// <summary>Writes the store as <see cref="ToBytes"/> describes, in one pass over its non-empty buckets.</summary>
        public void Encode(byte[] bytes, ref int at)
        {
            if (Total == 0)
            {
                WriteVarint(bytes, ref at, 0);
            }
            else if (_byte is { } narrowest)
            {
                Encode(narrowest.AsSpan(_min - _offset, _max - _min + 1), _min, bytes, ref at);
            }
            else if (_short is { } narrow)
            {
                Encode(narrow.AsSpan(_min - _offset, _max - _min + 1), _min, bytes, ref at);
            }
            else if (_wide is { } wide)
            {
                Encode(wide.AsSpan(_min - _offset, _max - _min + 1), _min, bytes, ref at);
            }
            else
            {
                Encode(_counts.AsSpan(_min - _offset, _max - _min + 1), _min, bytes, ref at);
            }
        }

        /// <summary>
        /// The buckets of <paramref name="range"/> (whose first slot is bucket <paramref name="min"/>): their number,
        /// the first index, the span to the last, then each count after its gap. Runs of empty buckets are skipped with
        /// vectorized searches; the count of non-empty ones is one vectorized count.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Encode<T>(ReadOnlySpan<T> range, int min, byte[] bytes, ref int at)
            where T : unmanaged, IBinaryInteger<T>
        {
            var first = range.IndexOfAnyExcept(T.Zero);
            if (first < 0)
            {
                WriteVarint(bytes, ref at, 0);
                return;
            }

            var used = range[first..(range.LastIndexOfAnyExcept(T.Zero) + 1)];
            WriteVarint(bytes, ref at, (ulong)(used.Length - used.Count(T.Zero)));
            WriteVarint(bytes, ref at, ZigZag(min + first));
            WriteVarint(bytes, ref at, (ulong)(used.Length - 1));
            WriteVarint(bytes, ref at, ulong.CreateTruncating(used[0]));
            var previous = 0;
            for (var i = 1; i < used.Length; i++)
            {
                if (used[i] == T.Zero)
                {
                    // The last bucket is not empty, so a non-empty one follows.
                    i += used[i..].IndexOfAnyExcept(T.Zero);
                }

                WriteVarint(bytes, ref at, (ulong)(i - previous - 1));
                WriteVarint(bytes, ref at, ulong.CreateTruncating(used[i]));
                previous = i;
            }
        }

        /// <summary>
        /// Extends the range to hold buckets [min, max] (at most <see cref="MaxBinsPerStore"/> apart) up front, so
        /// they can be filled with <see cref="AddReserved"/>. False when that would need a collapse: then use
        /// <see cref="Add"/>, which collapses.
        /// </summary>
        /// <param name="wider">For an empty store that needs a new array: the total of counts about to be added of which
        /// one does not fit a byte, so the array is made as wide as that total needs; 0: bytes in a compact store, else
        /// ushorts.</param>
        public bool Reserve(int min, int max, long wider = 0)
        {
            if (Total == 0)
            {
                if (min < _offset || max >= _offset + Length)
                {
                    // Exactly the range: a store filled from bytes (a stored rollup) rarely grows afterwards.
                    var length = max - min + 1;
                    (_byte, _short, _counts, _wide) = wider switch
                    {
                        0 when compact => (new byte[length], null, [], null),
                        <= ushort.MaxValue => ((byte[]?)null, new ushort[length], (int[])[], (long[]?)null),
                        <= int.MaxValue => (null, null, new int[length], null),
                        _ => ((byte[]?)null, (ushort[]?)null, (int[])[], new long[length]),
                    };
                    _offset = min;
                }

                _min = min;
                _max = max;
                return true;
            }

            var low = Math.Min(min, _min);
            var high = Math.Max(max, _max);
            if (high - low >= MaxBinsPerStore)
            {
                return false;
            }

            Cover(low, high);
            return true;
        }

        /// <summary>Adds to a bucket inside the range a successful <see cref="Reserve"/> made.</summary>
        public void AddReserved(int index, long count)
        {
            if (_byte is not null && _byte[index - _offset] + count > byte.MaxValue)
            {
                WidenFromBytes(Total + count);
            }

            WidenFor(count);
            if (_byte is not null)
            {
                _byte[index - _offset] += (byte)count;
            }
            else if (_short is not null)
            {
                _short[index - _offset] += (ushort)count;
            }
            else if (_wide is null)
            {
                _counts[index - _offset] += (int)count;
            }
            else
            {
                _wide[index - _offset] += count;
            }

            Total += count;
        }

        private long CountAt(int slot) =>
            _byte is not null ? _byte[slot] : _short is not null ? _short[slot] : _wide is null ? _counts[slot] : _wide[slot];

        /// <summary>Moves byte counts to the narrowest array a store of <paramref name="total"/> fits (see
        /// <see cref="WidenFor"/>): before a bucket's count passes 255.</summary>
        private void WidenFromBytes(long total)
        {
            var counts = _byte!;
            if (total > int.MaxValue)
            {
                _wide = Widen<byte, long>(counts);
            }
            else if (total > ushort.MaxValue)
            {
                _counts = Widen<byte, int>(counts);
            }
            else
            {
                _short = Widen<byte, ushort>(counts);
            }

            _byte = null;
        }

        /// <summary>Whether adding this store's counts from <paramref name="slot"/> on to <paramref name="target"/> leaves
        /// every one within a byte.</summary>
        private bool SumsFitBytes(ReadOnlySpan<byte> target, int slot) =>
            _byte is not null ? SumsFitBytes(target, _byte.AsSpan(slot, target.Length))
            : _short is not null ? SumsFitBytes(target, _short.AsSpan(slot, target.Length))
            : _wide is null ? SumsFitBytes(target, _counts.AsSpan(slot, target.Length))
            : SumsFitBytes(target, _wide.AsSpan(slot, target.Length));

        private static bool SumsFitBytes<T>(ReadOnlySpan<byte> target, ReadOnlySpan<T> source)
            where T : struct, IBinaryInteger<T>
        {
            for (var i = 0; i < target.Length; i++)
            {
                if (target[i] + long.CreateTruncating(source[i]) > byte.MaxValue)
                {
                    return false;
                }
            }

            return true;
        }

        private static bool PassesAByte(ReadOnlySpan<long> counts)
        {
            foreach (var count in counts)
            {
                if (count > byte.MaxValue)
                {
                    return true;
                }
            }

            return false;
        }

        private static bool SumsFitBytes(byte[] target, int offset, ReadOnlySpan<int> indexes, ReadOnlySpan<long> counts)
        {
            for (var i = 0; i < indexes.Length; i++)
            {
                if (target[indexes[i] - offset] + counts[i] > byte.MaxValue)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Moves to wider counts before adding <paramref name="count"/> makes the total pass what the current
        /// ones hold (ushort.MaxValue, then int.MaxValue): while the total fits, every bucket does. Byte counts are
        /// widened by their buckets instead (<see cref="WidenFromBytes"/>).</summary>
        private void WidenFor(long count)
        {
            var total = Total + count;
            if (_short is not null && total > ushort.MaxValue)
            {
                if (total > int.MaxValue)
                {
                    _wide = Widen<ushort, long>(_short);
                }
                else
                {
                    _counts = Widen<ushort, int>(_short);
                }

                _short = null;
            }
            else if (_byte is null && _short is null && _wide is null && total > int.MaxValue)
            {
                _wide = Widen<int, long>(_counts);
                _counts = [];
            }
        }

        private static TWide[] Widen<TNarrow, TWide>(TNarrow[] counts)
            where TNarrow : struct, IBinaryInteger<TNarrow>
            where TWide : struct, IBinaryInteger<TWide>
        {
            var wide = new TWide[counts.Length];
            for (var i = 0; i < counts.Length; i++)
            {
                wide[i] = TWide.CreateTruncating(counts[i]);
            }

            return wide;
        }

        /// <summary>Adds this store's counts from <paramref name="slot"/> on to <paramref name="target"/>, whose counts
        /// are at least as wide as these.</summary>
        private void AddCountsTo<T>(Span<T> target, int slot)
            where T : struct, IBinaryInteger<T>
        {
            if (_byte is not null)
            {
                AddCounts(target, _byte.AsSpan(slot, target.Length));
            }
            else if (_short is not null)
            {
                AddCounts(target, _short.AsSpan(slot, target.Length));
            }
            else if (_wide is null)
            {
                AddCounts(target, _counts.AsSpan(slot, target.Length));
            }
            else
            {
                AddCounts(target, _wide.AsSpan(slot, target.Length));
            }
        }

        private static void AddCounts<TTarget, TSource>(Span<TTarget> target, ReadOnlySpan<TSource> source)
            where TTarget : struct, IBinaryInteger<TTarget>
            where TSource : struct, IBinaryInteger<TSource>
        {
            for (var i = 0; i < target.Length; i++)
            {
                target[i] += TTarget.CreateTruncating(source[i]);
            }
        }

        /// <summary>Moves the counts of every bucket below <paramref name="lowest"/> into bucket <paramref name="lowest"/>.</summary>
        private void CollapseBelow(int lowest)
        {
            long moved = 0;
            var end = Math.Min(lowest - 1, _max);
            for (var i = _min; i <= end; i++)
            {
                moved += CountAt(i - _offset);
                SetAt(i - _offset, 0);
            }

            var max = Math.Max(_max, lowest);
            _min = lowest;
            Cover(lowest, max);

            // The total is unchanged, so the sum fits the width the store has.
            SetAt(lowest - _offset, CountAt(lowest - _offset) + moved);
        }

        private void SetAt(int slot, long count)
        {
            if (_byte is not null && count > byte.MaxValue)
            {
                // A collapse gathered more than a byte into one bucket; the total is unchanged.
                WidenFromBytes(Total);
            }

            if (_byte is not null)
            {
                _byte[slot] = (byte)count;
            }
            else if (_short is not null)
            {
                _short[slot] = (ushort)count;
            }
            else if (_wide is null)
            {
                _counts[slot] = (int)count;
            }
            else
            {
                _wide[slot] = count;
            }
        }

        /// <summary>Makes the array hold buckets [min, max] (at most <see cref="MaxBinsPerStore"/> of them), keeping every count.</summary>
        private void Cover(int min, int max)
        {
            var end = _offset + Length - 1;
            if (min >= _offset && max <= end)
            {
                _min = min;
                _max = max;
                return;
            }

            // A new array gets a quarter more than it needs: a range that keeps widening reallocates a logarithmic
            // number of times, and a settled one (most signals) wastes little. The old array is reused, shifted,
            // when it has room to spare.
            var needed = max - min + 1;
            var spare = Math.Max(needed / 4, InitialLength);
            var length = Length >= needed + (spare / 2) || Length >= MaxBinsPerStore + Slack
                ? Length
                : Math.Min(needed + spare, MaxBinsPerStore + Slack);

            // Leave the spare room on the side the range is growing towards.
            var offset = max > end ? min : max - length + 1;
            if (_byte is not null)
            {
                _byte = Shift(_byte, _offset, end, offset, length);
            }
            else if (_short is not null)
            {
                _short = Shift(_short, _offset, end, offset, length);
            }
            else if (_wide is null)
            {
                _counts = Shift(_counts, _offset, end, offset, length);
            }
            else
            {
                _wide = Shift(_wide, _offset, end, offset, length);
            }

            _offset = offset;
            _min = min;
            _max = max;
        }

        /// <summary>The counts of slots [offset, end] moved to an array of <paramref name="length"/> starting at
        /// <paramref name="newOffset"/>: the same array when the length is unchanged.</summary>
        private static T[] Shift<T>(T[] counts, int offset, int end, int newOffset, int length)
        {
            var target = length == counts.Length ? counts : new T[length];
            var from = Math.Max(offset, newOffset);
            var to = Math.Min(end, newOffset + length - 1);
            if (to >= from)
            {
                Array.Copy(counts, from - offset, target, from - newOffset, to - from + 1);
            }

            if (ReferenceEquals(target, counts))
            {
                // Shifted in place: clear the slots the copy did not write.
                if (to >= from)
                {
                    Array.Clear(target, 0, from - newOffset);
                    Array.Clear(target, to - newOffset + 1, length - (to - newOffset + 1));
                }
                else
                {
                    Array.Clear(target);
                }
            }

            return target;
        }
    }
}
