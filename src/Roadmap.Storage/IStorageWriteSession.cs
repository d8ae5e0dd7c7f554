using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage;

/// <summary>
/// A backend's half of the writer: its statements and transactions, nothing else. <see cref="BatchedWriter"/> owns the
/// rest (the queue and its linger, retries and health, the sort by series and time, the hour and day rollups with
/// their sketches) and drives a session from one loop, one batch at a time:
/// <see cref="Begin"/>, <see cref="InsertPolls"/>, <see cref="SeriesId"/> for series it has not seen,
/// <see cref="InsertSamples"/>, the rollup reads and <see cref="UpsertRollups"/>, then <see cref="Commit"/>, or
/// <see cref="Rollback"/> on any failure. Between batches it calls <see cref="StoreLost"/> and <see cref="Prune"/>.
/// </summary>
/// <remarks>Every member throws <see cref="StorageException"/> for a failure of the store, and nothing else.</remarks>
public interface IStorageWriteSession : IDisposable
{
    /// <summary>Opens the batch's transaction, taking the write lock now (waiting at most <see cref="StorageOptions.BusyTimeout"/>).</summary>
    void Begin();

    /// <summary>Commits the batch's transaction.</summary>
    void Commit();

    /// <summary>Rolls the open transaction back (if any); never throws.</summary>
    void Rollback();

    /// <summary>Inserts one row per poll.</summary>
    void InsertPolls(ReadOnlySpan<PollRow> polls);

    /// <summary>The id of a series (a source's signal), created in the open transaction if it does not exist yet.</summary>
    long SeriesId(string source, string signal);

    /// <summary>
    /// Inserts samples sorted by (series, ts, arrival). A sample at the (series, ts) of a stored one, or of an earlier
    /// one in <paramref name="rows"/>, replaces it: the later arrival wins.
    /// </summary>
    void InsertSamples(ReadOnlySpan<SeriesSample> rows);

    /// <summary>The stored samples of one series with from &lt;= ts &lt;= to (unix ms), oldest first.</summary>
    IReadOnlyList<Point> ReadSamples(long series, long fromMs, long toMs);

    /// <summary>Whether a day chunk of the series starts at <paramref name="dayStartMs"/> (its hour rollups are then
    /// dropped: the day is rebuilt from its samples).</summary>
    bool HasDayChunk(long series, long dayStartMs);

    /// <summary>The stored rollup bucket of one series starting at <paramref name="startMs"/>; null when none.</summary>
    SeriesSummary? ReadRollup(RollupLevel level, long series, long startMs);

    /// <summary>The stored buckets of one series with from &lt;= start &lt; to, merged oldest first (empty when none).</summary>
    SeriesSummary CombineRollups(RollupLevel level, long series, long fromMs, long toMs);

    /// <summary>
    /// Appends KPI evaluations to the evaluation history in the open transaction, judged under
    /// <see cref="IEvaluationStore.CurrentRules"/>: the rows of <see cref="IEvaluationStore.Append"/>, written on the
    /// writer's connection (<see cref="BatchedWriter.AppendEvaluations"/>).
    /// </summary>
    void AppendEvaluations(IReadOnlyCollection<KpiEvaluation> evaluations);

    /// <summary>Inserts or replaces rollup buckets (each with a count above 0).</summary>
    void UpsertRollups(RollupLevel level, IReadOnlyList<RollupRow> rows);

    /// <summary>
    /// Raises the closed-days version (<c>series.closed_days_version</c>) of each series, in the open transaction: a
    /// day rollup of theirs whose day has ended (or is about to) was written, so what readers keep of their closed
    /// days (<see cref="ClosedDaysCache"/>) is stale.
    /// </summary>
    void ClosedDaysChanged(IReadOnlyCollection<long> series);

    /// <summary>
    /// Called before each batch and now and then while idle, outside a transaction: null while the store written to
    /// is still the one that was opened; else a sentence for the log saying what happened to it (for SQLite: the file
    /// deleted, moved or replaced under the running service). Then call <see cref="RecoverStore"/>.
    /// </summary>
    string? StoreLost();

    /// <summary>
    /// After <see cref="StoreLost"/> found a loss: saves what can be saved, opens the store where it belongs again and
    /// continues there. Series ids and rollup buckets the caller remembers belong to the lost store: forget them.
    /// </summary>
    /// <returns>What was done, for the log.</returns>
    /// <exception cref="StorageException">With <see cref="StorageHealth.FileLost"/>: nothing can be opened yet; call
    /// again later.</exception>
    string RecoverStore();

    /// <summary>One short retention step if one is due, in its own transaction; the rows it removed (0: nothing due).</summary>
    int Prune();

    /// <summary>
    /// One short compaction step if one is due, in its own transaction: closed ranges of the hot samples sealed into
    /// chunks (<see cref="Chunks.Compactor"/>). <see cref="CompactionStep.Chunks"/> 0: nothing due or left.
    /// </summary>
    CompactionStep Compact();
}

/// <summary>A poll to store.</summary>
/// <param name="TimestampMs">When the poll started, unix milliseconds UTC.</param>
/// <param name="DurationSeconds">The poll's wall time.</param>
/// <param name="Reason">Why it failed; null on success.</param>
/// <param name="ScheduledMs">The scheduled time of the tick that ran it, unix milliseconds UTC (<see cref="PollRecord.ScheduledMs"/>); null
/// outside a schedule.</param>
public readonly record struct PollRow(string Source, long TimestampMs, double DurationSeconds, bool Success, string? Reason, long? ScheduledMs = null);

/// <summary>A sample to insert. Sorts by series, then time, then arrival (<paramref name="Seq"/>): of two at one
/// (series, ts), the later arrival sorts last and wins.</summary>
/// <param name="Series">The series id (<see cref="IStorageWriteSession.SeriesId"/>).</param>
/// <param name="Ts">Unix milliseconds UTC.</param>
/// <param name="Seq">The sample's position in its batch.</param>
public readonly record struct SeriesSample(long Series, long Ts, double Value, int Seq) : IComparable<SeriesSample>
{
    public int CompareTo(SeriesSample other)
    {
        var c = Series.CompareTo(other.Series);
        if (c != 0)
        {
            return c;
        }

        c = Ts.CompareTo(other.Ts);
        return c != 0 ? c : Seq.CompareTo(other.Seq);
    }

    public static bool operator <(SeriesSample left, SeriesSample right) => left.CompareTo(right) < 0;

    public static bool operator >(SeriesSample left, SeriesSample right) => left.CompareTo(right) > 0;

    public static bool operator <=(SeriesSample left, SeriesSample right) => left.CompareTo(right) <= 0;

    public static bool operator >=(SeriesSample left, SeriesSample right) => left.CompareTo(right) >= 0;
}

/// <summary>A rollup bucket to store: one series' summary over the bucket starting at <paramref name="StartMs"/>.</summary>
public readonly record struct RollupRow(long Series, long StartMs, SeriesSummary Summary);
