using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Chunks;

/// <summary>
/// A series' samples as every reader sees them, the same for every backend: the points of its chunks (sealed, immutable
/// ranges) merged with its hot rows (the samples table the writer appends to). A chunk's range and the hot rows may
/// overlap (a late sample for a sealed range waits in the hot table until the range is sealed again); a hot row at the
/// ts of a chunk's point replaces it, as the later insert replaced the earlier row before compaction. The result is the
/// same sequence the samples table held before its rows were sealed, so every sum taken in order is the same number.
/// </summary>
internal static class ChunkedSamples
{
    /// <summary>The longest range a chunk covers: a UTC day. A chunk overlapping [from, to) starts after from minus this.</summary>
    public const long MaxRangeMs = 86_400_000;

    /// <summary>
    /// Calls <paramref name="add"/> with every point with from &lt;= ts &lt; to, oldest first: the chunks' points
    /// (<paramref name="chunks"/> in range order, ranges not overlapping) merged with <paramref name="hot"/> (sorted by
    /// ts, one per ts); at a ts held by both, the hot row.
    /// </summary>
    /// <exception cref="StorageException">A chunk does not decode (damaged): the store is failing.</exception>
    public static void Merge(IReadOnlyList<byte[]> chunks, IReadOnlyList<Point> hot, long fromMs, long toMs, Action<Point> add) =>
        Merge(chunks.SelectMany(Decode), hot, fromMs, toMs, add);

    /// <summary>The merge of the other overload over the
    /// chunks' points already decoded, oldest first.</summary>
    public static void Merge(IEnumerable<Point> sealedPoints, IReadOnlyList<Point> hot, long fromMs, long toMs, Action<Point> add)
    {
        var h = 0;
        while (h < hot.Count && hot[h].TimestampMs < fromMs)
        {
            h++;
        }

        foreach (var p in sealedPoints)
        {
            if (p.TimestampMs < fromMs || p.TimestampMs >= toMs)
            {
                continue;
            }

            while (h < hot.Count && hot[h].TimestampMs < p.TimestampMs)
            {
                add(hot[h++]);
            }

            if (h < hot.Count && hot[h].TimestampMs == p.TimestampMs)
            {
                add(hot[h++]);
            }
            else
            {
                add(p);
            }
        }

        while (h < hot.Count && hot[h].TimestampMs < toMs)
        {
            add(hot[h++]);
        }
    }

    /// <summary>The merged points as a list.</summary>
    public static List<Point> MergeToList(IReadOnlyList<byte[]> chunks, IReadOnlyList<Point> hot, long fromMs, long toMs)
    {
        var points = new List<Point>();
        Merge(chunks, hot, fromMs, toMs, points.Add);
        return points;
    }

    /// <summary>Decodes a stored chunk; a damaged one is the store failing, not a bug.</summary>
    public static Point[] Decode(byte[] chunk)
    {
        try
        {
            return ChunkCodec.Decode(chunk);
        }
        catch (InvalidDataException e)
        {
            throw new StorageException($"a stored chunk is damaged: {e.Message}", e, StorageHealth.Failing, "damaged chunk");
        }
    }
}
