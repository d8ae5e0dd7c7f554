using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// The merged day rollups of a window's whole closed days, kept between evaluation rounds, the same for every backend.
/// A year's window is some 365 day rollups per KPI, and from one round to the next only its edges move: a round reads
/// the days once, later rounds take the merged summary from here and read only the edges (and the days that ended
/// too recently to keep). An entry holds for one series, one range of days and one <em>closed-days version</em> of
/// the series (<c>series.closed_days_version</c>): every write or delete of a day rollup of a day that has ended (a
/// late sample, a recomputed day, retention) raises that version in the same transaction, so the next read of the
/// series sees a newer version and reads the days again. That also holds when another process wrote (a cluster's
/// other replicas): the version is in the database, not in this process. Thread-safe.
/// </summary>
/// <remarks>
/// Only days that ended at least <see cref="SettleMs"/> before both the window's end and this process's clock are
/// kept, and a writer raises the version for a day rollup whose day ends within <see cref="WriterMarginMs"/> of its
/// clock too: so a write into a kept day raises the version unless the two clocks are more than the difference (50 s)
/// apart; a cluster's replicas refuse readiness above 1 s of skew. The version is read before the days are, so a
/// write that commits between the two reads makes the entry stale at once and it is read again next time.
/// </remarks>
internal sealed class ClosedDaysCache(TimeProvider time)
{
    /// <summary>How long before the window's end (and the clock) a day must have ended to be kept: 60 s.</summary>
    public const long SettleMs = 60_000;

    /// <summary>A writer raises the closed-days version for a day rollup whose day ends within this of its clock, or
    /// has ended: 10 s.</summary>
    public const long WriterMarginMs = 10_000;

    /// <summary>Entries kept at most (about 4 KB each); past it the cache starts empty again. 20,000.</summary>
    public const int MaxEntries = 20_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Source, string Signal, long Length), Entry> _entries = [];

    /// <summary>Reads that took a kept summary, and reads that merged the days again (first time, newer version, or
    /// a range that moved).</summary>
    public long Hits { get; private set; }

    /// <inheritdoc cref="Hits"/>
    public long Misses { get; private set; }

    /// <summary>Whether a writer must raise the closed-days version for a day rollup starting at
    /// <paramref name="dayStartMs"/> that it writes at <paramref name="nowMs"/>.</summary>
    public static bool WriteChangesClosedDay(long dayStartMs, long nowMs) => dayStartMs + RollupLevel.Day.SizeMs <= nowMs + WriterMarginMs;

    /// <summary>The end of the days of <paramref name="plan"/> that may be kept: [FirstDay, this) is kept, [this,
    /// LastDay) read every time; FirstDay or less when none may be kept.</summary>
    public long KeptEnd(WindowPlan plan)
    {
        var settled = Math.Min(plan.End, time.GetUtcNow().ToUnixTimeMilliseconds()) - SettleMs;
        return Math.Min(plan.LastDay, RollupLevel.Day.StartOf(settled));
    }

    /// <summary>The kept summary of the days [<paramref name="fromMs"/>, <paramref name="toMs"/>) of a series at
    /// <paramref name="version"/>; null when none is kept for exactly these. Never change what it returns.</summary>
    public SeriesSummary? Get(string source, string signal, long fromMs, long toMs, long version)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue((source, signal, toMs - fromMs), out var e) && e.From == fromMs && e.Version == version)
            {
                Hits++;
                return e.Summary;
            }

            Misses++;
            return null;
        }
    }

    /// <summary>The version the series' kept summary of these days was read at; null when none is kept (a backend
    /// that reads the version with the days asks this first, to know whether to read the days at all).</summary>
    public long? VersionOf(string source, string signal, long fromMs, long toMs)
    {
        lock (_lock)
        {
            return _entries.TryGetValue((source, signal, toMs - fromMs), out var e) && e.From == fromMs ? e.Version : null;
        }
    }

    /// <summary>Keeps <paramref name="summary"/> (not to be changed afterwards) as the days [from, to) of a series
    /// read at <paramref name="version"/>, replacing what was kept for a range of the same length (yesterday's).</summary>
    public void Put(string source, string signal, long fromMs, long toMs, long version, SeriesSummary summary)
    {
        lock (_lock)
        {
            if (_entries.Count >= MaxEntries && !_entries.ContainsKey((source, signal, toMs - fromMs)))
            {
                _entries.Clear(); // KPIs removed or windows changed over time: start again rather than grow
            }

            _entries[(source, signal, toMs - fromMs)] = new Entry(fromMs, version, summary);
        }
    }

    private sealed record Entry(long From, long Version, SeriesSummary Summary);
}
