using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Chunks;

/// <summary>
/// A backend's primitives for the compactor (<see cref="Compactor"/>): the hot samples table and the chunks table,
/// inside one transaction the compactor opens and ends. Every member throws <see cref="StorageException"/> for a
/// failure of the store, and nothing else.
/// </summary>
internal interface IChunkStore
{
    /// <summary>Opens the step's transaction, taking the write lock now.</summary>
    void Begin();

    /// <summary>Commits the step's transaction.</summary>
    void Commit();

    /// <summary>Rolls the open transaction back (if any); never throws.</summary>
    void Rollback();

    /// <summary>Every series id, ascending.</summary>
    IReadOnlyList<long> SeriesIds();

    /// <summary>The oldest hot sample's ts of one series at or after <paramref name="fromMs"/>; null when none.</summary>
    long? OldestHot(long series, long fromMs);

    /// <summary>Chunks shorter than a day (an hour's, sealed while their day was open) whose range ends at or before
    /// <paramref name="endMs"/>: (series, the start of their UTC day), at most <paramref name="limit"/>.</summary>
    IReadOnlyList<(long Series, long DayStart)> PartialChunks(long endMs, int limit);

    /// <summary>At least as many samples as the range [from, to) of one series holds: its hot rows there plus the
    /// counts of its chunks starting there (a hot row replacing a sealed point is counted twice).</summary>
    long CountAtMost(long series, long fromMs, long toMs);

    /// <summary>Deletes the chunks of one series whose range starts in [from, to) and returns them, oldest first.</summary>
    IReadOnlyList<byte[]> TakeChunks(long series, long fromMs, long toMs);

    /// <summary>Deletes the hot samples of one series with from &lt;= ts &lt; to and returns them, oldest first: exactly
    /// the rows deleted, so a sample another process inserts meanwhile is never lost.</summary>
    IReadOnlyList<Point> TakeHot(long series, long fromMs, long toMs);

    /// <summary>Stores <paramref name="chunk"/> as the series' chunk of the range [from, to).</summary>
    void InsertChunk(long series, long fromMs, long toMs, byte[] chunk, ChunkHeader header);

    /// <summary>Deletes the hour rollups of one series with from &lt;= start &lt; to: a day chunk answers for them.</summary>
    void DropHourRollups(long series, long fromMs, long toMs);

    /// <summary>The count of the series' day rollup starting at <paramref name="dayStartMs"/>; null when it has none.</summary>
    long? DayRollupCount(long series, long dayStartMs);

    /// <summary>Stores <paramref name="summary"/> as the series' day rollup starting at <paramref name="dayStartMs"/>,
    /// replacing any; with <paramref name="closedDayChanged"/> also raises the series' closed-days version
    /// (<see cref="ClosedDaysCache"/>).</summary>
    void ReplaceDayRollup(long series, long dayStartMs, SeriesSummary summary, bool closedDayChanged);
}
