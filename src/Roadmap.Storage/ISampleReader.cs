using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>Reads stored samples and polls. Thread-safe; for many reads in a row (an evaluation round) use
/// <see cref="OpenSession"/>. Failures are <see cref="StorageException"/>s.</summary>
public interface ISampleReader
{
    /// <summary>The samples of one signal with from &lt;= ts &lt;= to, oldest first.</summary>
    IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to);

    /// <summary>The summary of one signal's samples with from &lt;= ts &lt;= to; see <see cref="ISampleReadSession.Summarize"/>.</summary>
    SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to);

    /// <summary>One connection and its prepared statements for many reads; not thread-safe, dispose when done.</summary>
    ISampleReadSession OpenSession();

    /// <summary>The polls of one source with from &lt;= ts &lt;= to, oldest first.</summary>
    IReadOnlyList<StoredPoll> Polls(string source, DateTimeOffset from, DateTimeOffset to);

    /// <summary>How many polls are stored, for one source or (null) all.</summary>
    long CountPolls(string? source = null);
}

/// <summary>
/// Reads for one evaluation round: one connection and its statements reused across every KPI. Not thread-safe.
/// Series ids may be cached for the session's life: a series created meanwhile is seen by the next session.
/// </summary>
public interface ISampleReadSession : IDisposable
{
    /// <summary>The samples of one signal with from &lt;= ts &lt;= to, oldest first.</summary>
    IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to);

    /// <summary>
    /// The summary of one signal's samples with from &lt;= ts &lt;= to, read as <see cref="WindowPlan"/> says: a span
    /// shorter than a day raw (exact, exact quantiles); longer ones from the raw samples of the partial hours at each
    /// edge, hour rollups up to the UTC day boundaries and day rollups between. SQLite reads the last partial hour from
    /// its hour rollup instead when all of that hour's samples are inside the window (a window that ends now): the
    /// writer stores the rollup with the samples, so it sums exactly the same samples. Count, sum, min, max, first, last and
    /// increase are exact; quantiles come from the merged sketches (within <see cref="QuantileSketch.RelativeAccuracy"/>).
    /// Where retention already removed the raw samples of the starting edge, that edge's whole hour rollup stands in:
    /// the result then includes samples up to an hour before <paramref name="from"/> (approximate at that edge).
    /// </summary>
    /// <param name="reads">What the caller can do without, to make the read cheaper (<see cref="WindowReads"/>): the
    /// default reads exactly as described.</param>
    SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to, WindowReads reads = WindowReads.Exact);

    /// <summary>
    /// What the stored polls say about <paramref name="source"/>: its last poll, last success, and while its last poll
    /// failed, since when its polls fail and the last reason (as stored: redacted when it was polled). Null when no
    /// poll of it is stored. A failure run older than raw retention is dated from its oldest stored poll.
    /// </summary>
    /// <param name="previous">This session's or an earlier one's answer for the same source: while it was failing,
    /// only the polls after its last one are searched for a success, so a long run of failures is not read again
    /// every round.</param>
    SourceState? PollState(string source, SourceState? previous = null);
}

/// <summary>What a window's reader (<see cref="ISampleReadSession.Summarize"/>) may do to read less, flags the caller
/// sets when it can do without the exactness they give up. A backend may ignore them (PostgreSQL does): the answer is
/// then the exact one.</summary>
[Flags]
public enum WindowReads
{
    /// <summary>Exactly the samples with from &lt;= ts &lt;= to; a window shorter than a day with exact quantiles.</summary>
    Exact = 0,

    /// <summary>No exact quantiles needed (the aggregate is not a quantile): a window shorter than a day may be read
    /// from its whole hours' rollups and its edges' raw samples, like a longer one; its quantiles then come from the
    /// sketch. Count, sum, min, max, first, last and increase stay exact.</summary>
    SketchQuantiles = 1,

    /// <summary>The window ends now: samples after <c>to</c> already stored when it is read (polled while an evaluation
    /// round runs) may be counted too, so the last hour can be read from its rollup rather than its raw samples.</summary>
    OpenEnded = 2,
}

/// <summary>A poll as read back.</summary>
/// <param name="TimestampMs">When the poll started, unix milliseconds UTC.</param>
/// <param name="DurationMs">The poll's wall time in milliseconds.</param>
/// <param name="Outcome"><c>success</c> or <c>failure</c>.</param>
/// <param name="Reason">Why it failed; null on success.</param>
public sealed record StoredPoll(string Source, long TimestampMs, double DurationMs, string Outcome, string? Reason);
