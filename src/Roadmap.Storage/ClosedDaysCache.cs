using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// The merged day rollups of windows' closed days, kept between evaluation rounds, the same for every backend. A year's
/// window is some 365 day rollups per KPI, and from one round to the next only its edges move: its closed days are
/// cut into <see cref="Segments"/> (the days up to the first <see cref="BlockMs"/> boundary, whole blocks, the days
/// after the last boundary), each read and merged once and kept here; later rounds take them from here and read only
/// the edges and the days that ended too recently to keep. When the window moves past midnight only its first and
/// last segment change: the whole blocks between stay. An entry holds for one series, one segment and one
/// <em>closed-days version</em> of the series (<c>series.closed_days_version</c>): every write or delete of a day
/// rollup of a settled day (<see cref="WriteChangesClosedDay"/>: a late sample, a recomputed day, retention) raises
/// that version in the same transaction, so the next read of the series sees a newer version and reads its segments
/// again. That also holds when another process wrote (a cluster's other replicas): the version is in the database, not
/// in this process. A segment keeps its numbers and its sketch's bytes (a few hundred bytes), not a live sketch.
/// Thread-safe.
/// </summary>
/// <remarks>
/// Only days that ended at least <see cref="SettleMs"/> before both the window's end and this process's clock are
/// kept, and a writer raises the version for any day that ended <see cref="SettleMs"/> less
/// <see cref="ClockMarginMs"/> before its own clock: so a write into a kept day raises the version unless the writer's
/// and the reader's clocks are more than that margin apart (a cluster's replicas refuse readiness above 1 s of skew),
/// while the late samples of the first minutes after midnight, written into yesterday, raise nothing (yesterday is
/// not kept yet). The version is read before the days are, so a write that commits between the two reads makes the
/// entry stale at once, and it is read again next time.
/// </remarks>
internal sealed class ClosedDaysCache(TimeProvider time)
{
    /// <summary>How long before the window's end (and the clock) a day must have ended to be kept: an hour.</summary>
    public const long SettleMs = 3_600_000;

    /// <summary>How far apart a writer's and a reader's clocks may be: a minute.</summary>
    public const long ClockMarginMs = 60_000;

    /// <summary>The whole blocks a window's closed days are kept in: 32 UTC days, counted from the epoch.</summary>
    public const long BlockMs = 32 * DayMs;

    /// <summary>Entries kept at most; past it the cache starts empty again. 200,000 (about 100 MB at the most).</summary>
    public const int MaxEntries = 200_000;

    private const long DayMs = 86_400_000;

    /// <summary>An entry not used for this long goes at the next sweep (a window that moved on, a KPI removed): 26 h.</summary>
    private const long IdleMs = 26 * 3_600_000L;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Source, string Signal, long From, long To), Entry> _entries = [];
    private long _nextSweep;

    /// <summary>Segments taken from here, and segments that had to be read (first time, newer version, or moved).</summary>
    public long Hits { get; private set; }

    /// <inheritdoc cref="Hits"/>
    public long Misses { get; private set; }

    /// <summary>Entries kept now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Whether a writer must raise the closed-days version for a day rollup starting at
    /// <paramref name="dayStartMs"/> that it writes or deletes at <paramref name="nowMs"/>: the day may be kept by a
    /// reader (it ended at least <see cref="SettleMs"/> less <see cref="ClockMarginMs"/> ago).</summary>
    public static bool WriteChangesClosedDay(long dayStartMs, long nowMs) => dayStartMs + DayMs <= nowMs - SettleMs + ClockMarginMs;

    /// <summary>The end of the days of <paramref name="plan"/> that may be kept: [FirstDay, this) is kept, [this,
    /// LastDay) read every time; FirstDay or less when none may be kept.</summary>
    public long KeptEnd(WindowPlan plan)
    {
        var settled = Math.Min(plan.End, time.GetUtcNow().ToUnixTimeMilliseconds()) - SettleMs;
        return Math.Min(plan.LastDay, RollupLevel.Day.StartOf(settled));
    }

    /// <summary>The segments of the days [<paramref name="fromMs"/>, <paramref name="toMs"/>) (UTC day starts), in
    /// time order: up to the first <see cref="BlockMs"/> boundary, each whole block, after the last boundary.</summary>
    public static List<(long From, long To)> Segments(long fromMs, long toMs)
    {
        var segments = new List<(long, long)>();
        var start = fromMs;
        while (start < toMs)
        {
            var end = Math.Min(toMs, start - (((start % BlockMs) + BlockMs) % BlockMs) + BlockMs);
            segments.Add((start, end));
            start = end;
        }

        return segments;
    }

    /// <summary>Whether a segment of the series is kept, at whichever version (a backend that reads the version with
    /// the days asks this first, to know which days to read).</summary>
    public bool Holds(string source, string signal, long fromMs, long toMs)
    {
        lock (_lock)
        {
            return _entries.ContainsKey((source, signal, fromMs, toMs));
        }
    }

    /// <summary>Appends the kept segment [from, to) of a series at <paramref name="version"/> to
    /// <paramref name="total"/> (which must end before it); false, and nothing appended, when none is kept at that
    /// version.</summary>
    public bool TryAppend(string source, string signal, long fromMs, long toMs, long version, SeriesSummary total)
    {
        Entry? e;
        lock (_lock)
        {
            if (!_entries.TryGetValue((source, signal, fromMs, toMs), out e) || e.Version != version)
            {
                Misses++;
                return false;
            }

            Hits++;
            e.LastUsedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        }

        if (e.Count > 0)
        {
            total.Append(SeriesSummary.Restore(e.Count, e.Sum, e.Min, e.Max, e.FirstTs, e.FirstValue, e.LastTs, e.LastValue, e.Increase, new QuantileSketch()));
            total.Sketch.MergeFrom(e.Sketch);
        }

        return true;
    }

    /// <summary>Keeps <paramref name="segment"/>, the merged day rollups [from, to) of a series read at
    /// <paramref name="version"/>.</summary>
    public void Put(string source, string signal, long fromMs, long toMs, long version, SeriesSummary segment)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var entry = new Entry(
            version, segment.Count, segment.Sum, segment.Min, segment.Max, segment.FirstTimestampMs, segment.FirstValue, segment.LastTimestampMs,
            segment.LastValue, segment.Increase, segment.Count > 0 ? segment.Sketch.ToBytes() : [])
        {
            LastUsedMs = now,
        };
        lock (_lock)
        {
            if (now >= _nextSweep)
            {
                foreach (var key in _entries.Where(kv => kv.Value.LastUsedMs < now - IdleMs).Select(kv => kv.Key).ToList())
                {
                    _entries.Remove(key);
                }

                _nextSweep = now + 3_600_000;
            }

            if (_entries.Count >= MaxEntries && !_entries.ContainsKey((source, signal, fromMs, toMs)))
            {
                _entries.Clear(); // more windows than expected: start again rather than grow
            }

            _entries[(source, signal, fromMs, toMs)] = entry;
        }
    }

    private sealed record Entry(
        long Version, long Count, double Sum, double Min, double Max, long FirstTs, double FirstValue, long LastTs, double LastValue, double Increase, byte[] Sketch)
    {
        public long LastUsedMs { get; set; }
    }
}
