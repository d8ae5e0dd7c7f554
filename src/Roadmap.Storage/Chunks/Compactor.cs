using System.Runtime.InteropServices;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Chunks;

/// <summary>
/// Seals closed ranges of the hot samples table into chunks, the same for every backend, a little at a time: each
/// <see cref="Step"/> is one transaction that touches at most <see cref="StorageOptions.CompactBatchSamples"/> samples
/// (plus the one range that crosses that mark), so the writer runs it between its batches and ingest never waits long
/// behind it. A range is closed once its end is <see cref="StorageOptions.CompactGrace"/> in the past, so late polls
/// land in the hot table first: a UTC day that is closed becomes one chunk; an hour that is closed in a day still open
/// becomes a chunk of its own, merged with the day's others once the day closes (so the hot table holds about an hour,
/// and an old series costs one chunk a day). Sealing a whole day also drops that day's hour rollups in the same
/// transaction: the day chunk answers for them (a window's edge inside a sealed day is read raw), and the day rollup
/// stays. A late sample for a sealed range goes to the hot table (readers merge it
/// in) and the next sweep seals the range again with it. A range holding more than <see cref="ChunkCodec.MaxSamples"/>
/// samples stays hot. The first sweep after start is also the conversion of a database written before chunks existed:
/// it seals every closed range, batch by batch, and a restart continues with what is left, since each batch commits.
/// </summary>
internal sealed class Compactor(StorageOptions options, TimeProvider time)
{
    private const long HourMs = 3_600_000;
    private const long DayMs = ChunkedSamples.MaxRangeMs;

    /// <summary>Hour chunks of closed days looked at per step.</summary>
    private const int PartialsPerStep = 256;

    private readonly Queue<long> _series = new();
    private readonly HashSet<(long, long)> _tooLarge = [];
    private long _cursor = long.MinValue;
    private bool _sweeping;
    private long? _nextSweep;

    /// <summary>Whether a step is due: a sweep is under way, or the pause after the last one has passed.</summary>
    public bool Due => _sweeping || _nextSweep is not { } next || time.GetUtcNow().ToUnixTimeMilliseconds() >= next;

    /// <summary>
    /// One transaction: seals closed ranges until about <see cref="StorageOptions.CompactBatchSamples"/> samples were
    /// touched. Returns what it did; <see cref="CompactionStep.Chunks"/> 0 when the sweep is done (or nothing is due).
    /// </summary>
    public CompactionStep Step(IChunkStore store)
    {
        if (!Due)
        {
            return default;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var cut = now - (long)options.CompactGrace.TotalMilliseconds;
        var budget = options.CompactBatchSamples;
        var chunks = 0;
        var moved = 0;
        store.Begin();
        try
        {
            if (!_sweeping)
            {
                foreach (var id in store.SeriesIds())
                {
                    _series.Enqueue(id);
                }

                _cursor = long.MinValue;
                _sweeping = true;
            }

            while (budget > 0 && _series.TryPeek(out var series))
            {
                var hour = store.OldestHot(series, _cursor) is { } oldest ? RollupLevel.Hour.StartOf(oldest) : long.MaxValue;
                if (hour > cut - HourMs)
                {
                    _series.Dequeue(); // nothing hot in a closed range: this series is done
                    _cursor = long.MinValue;
                    continue;
                }

                var day = RollupLevel.Day.StartOf(hour);
                var touched = day + DayMs <= cut && !_tooLarge.Contains((series, day))
                    ? Seal(store, series, day, day + DayMs, ref moved)
                    : -1;
                if (touched < 0)
                {
                    touched = Seal(store, series, hour, hour + HourMs, ref moved);
                }

                if (touched < 0)
                {
                    _cursor = hour + HourMs; // more than a chunk holds: that hour stays hot
                    continue;
                }

                chunks++;
                budget -= Math.Max(1, touched);
            }

            // The hours sealed while their day was open, once the day has closed: one chunk per day.
            if (_series.Count == 0)
            {
                var done = new HashSet<(long, long)>();
                foreach (var (series, start) in store.PartialChunks(RollupLevel.Day.StartOf(cut), PartialsPerStep))
                {
                    var day = RollupLevel.Day.StartOf(start);
                    if (budget <= 0 || _tooLarge.Contains((series, day)) || !done.Add((series, day)))
                    {
                        continue;
                    }

                    var touched = Seal(store, series, day, day + DayMs, ref moved);
                    if (touched >= 0)
                    {
                        chunks++;
                        budget -= Math.Max(1, touched);
                    }
                }

                if (chunks == 0)
                {
                    _sweeping = false;
                    _nextSweep = now + (long)options.CompactInterval.TotalMilliseconds;
                }
            }

            store.Commit();
        }
        catch
        {
            store.Rollback();
            // A failed step leaves everything as it was; the next sweep, after the usual pause, plans afresh.
            _series.Clear();
            _sweeping = false;
            _nextSweep = now + (long)options.CompactInterval.TotalMilliseconds;
            throw;
        }

        return new CompactionStep(chunks, moved, _series.Count);
    }

    /// <summary>
    /// Seals the range [from, to) of one series: its chunks there and its hot rows there become one chunk. Returns the
    /// samples the chunk holds, or -1 (nothing changed) when the range holds more than a chunk may; adds the hot rows it
    /// moved to <paramref name="moved"/>.
    /// </summary>
    private int Seal(IChunkStore store, long series, long from, long to, ref int moved)
    {
        if (store.CountAtMost(series, from, to) > ChunkCodec.MaxSamples)
        {
            _tooLarge.Add((series, RollupLevel.Day.StartOf(from)));
            return -1;
        }

        var chunks = store.TakeChunks(series, from, to);
        var hot = store.TakeHot(series, from, to);
        var points = ChunkedSamples.MergeToList(chunks, hot, from, to);
        if (points.Count > 0)
        {
            var chunk = ChunkCodec.Encode(CollectionsMarshal.AsSpan(points));
            store.InsertChunk(series, from, to, chunk, ChunkCodec.ReadHeader(chunk));
            if (to - from == DayMs)
            {
                // A day chunk answers for its day's hours (readers read a window's edge day raw from it), so its hour
                // rollups only cost space; an hour sealed in an open day keeps its rollup, which readers still use.
                store.DropHourRollups(series, from, to);
                RepairDayRollup(store, series, from, points);
            }
        }

        moved += hot.Count;
        return points.Count;
    }

    /// <summary>
    /// The day rollup of a day just sealed, rebuilt from the day's samples when its count is not theirs. The writer
    /// folds each hour into its day when the hour closes (<see cref="Rollups"/>), so a process that stopped before
    /// folding an hour, and did not run again that day, left a day rollup short of that hour: nothing else would ever
    /// fold it. The day's samples are at hand here, and the check is one row read.
    /// </summary>
    private void RepairDayRollup(IChunkStore store, long series, long day, List<Point> points)
    {
        long count = 0;
        foreach (var p in points)
        {
            if (!double.IsNaN(p.Value))
            {
                count++;
            }
        }

        if (count == 0 || store.DayRollupCount(series, day) == count)
        {
            return;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        store.ReplaceDayRollup(series, day, SeriesSummary.FromPoints(points), ClosedDaysCache.WriteChangesClosedDay(day, now));
    }
}

/// <summary>What one compaction step did.</summary>
/// <param name="Chunks">Chunks written (each replacing the hot rows and smaller chunks of its range); 0: the sweep is
/// done, or none was due.</param>
/// <param name="Samples">Hot rows moved into chunks.</param>
/// <param name="SeriesLeft">Series still to look at in this sweep.</param>
public readonly record struct CompactionStep(int Chunks, int Samples, int SeriesLeft);

/// <summary>A compaction sweep that sealed anything, once it ended (the first after start of a database written before
/// chunks is its conversion).</summary>
/// <param name="Samples">Hot rows it moved into chunks.</param>
/// <param name="Chunks">Chunks it wrote.</param>
/// <param name="Duration">Wall time from its first step that sealed something to its end, polls written in between.</param>
public sealed record CompactionSweep(long Samples, long Chunks, TimeSpan Duration);
