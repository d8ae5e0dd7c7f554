namespace Roadmap.Storage;

/// <summary>One row of <c>update_deliveries</c>: a scheduled update's fire, and how it ended.</summary>
/// <param name="FireTs">The scheduled fire it is for, unix ms UTC (for <c>scheduled</c>: when the update was first seen).</param>
/// <param name="EndedTs">When it was sent, given up, or first seen, unix ms UTC.</param>
/// <param name="Outcome"><c>scheduled</c> (first seen: fires from here on are due), <c>success</c> or <c>failure</c> (given up).</param>
/// <param name="Blocked">For <c>success</c>: the ids of the initiatives blocked when it was sent; else empty.</param>
public sealed record StoredDelivery(long FireTs, long EndedTs, string Outcome, long Attempts, IReadOnlyList<string> Blocked);

/// <summary>A KPI's stored status at an instant: its latest evaluation at or before it.</summary>
/// <param name="Rules">The rules it was judged under (<see cref="IEvaluationStore.CurrentRules"/>).</param>
public sealed record StoredStatus(string Initiative, string Kpi, string Status, long Rules);

/// <summary>
/// What the scheduled updates covered and how each ended, and the one read of the evaluations they need: every KPI's
/// status at an instant. Thread-safe. Failures are <see cref="StorageException"/>s.
/// </summary>
public interface IUpdateStore
{
    /// <summary>The outcomes a row records.</summary>
    const string Scheduled = "scheduled", Success = "success", Failure = "failure";

    /// <summary>The latest row of <paramref name="name"/> (by fire time); null when it was never seen.</summary>
    StoredDelivery? Last(string name);

    /// <summary>
    /// What the recipients of <paramref name="name"/> last heard: its latest <c>success</c>, or, before its first one, its
    /// <c>scheduled</c> row; null when it was never seen. Failures are skipped: their recipients heard nothing.
    /// </summary>
    StoredDelivery? LastTold(string name);

    /// <summary>The latest <c>success</c> of any update, sent at or before <paramref name="at"/>; null when none.</summary>
    StoredDelivery? LastSuccessAtOrBefore(DateTimeOffset at);

    /// <summary>
    /// Records how the fire at <paramref name="fire"/> of <paramref name="name"/> ended. A second record of the same
    /// fire keeps the first: a fire is handled once.
    /// </summary>
    void Record(string name, DateTimeOffset fire, DateTimeOffset ended, string outcome, int attempts, IReadOnlyCollection<string>? blocked = null);

    /// <summary>
    /// Every KPI's latest stored evaluation at or before <paramref name="at"/> (evaluations are stored at every status
    /// change, so this is its status then). KPIs with none stored by then are absent.
    /// </summary>
    IReadOnlyList<StoredStatus> StatusesAt(DateTimeOffset at);
}
