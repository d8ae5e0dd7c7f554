using Dapper;

namespace Roadmap.Storage;

/// <summary>One row of <c>update_deliveries</c>: a scheduled update's fire, and how it ended.</summary>
/// <param name="FireTs">The scheduled fire it is for, unix ms UTC (for <c>scheduled</c>: when the update was first seen).</param>
/// <param name="EndedTs">When it was sent, given up, or first seen, unix ms UTC.</param>
/// <param name="Outcome"><c>scheduled</c> (first seen: fires from here on are due), <c>success</c> or <c>failure</c> (given up).</param>
/// <param name="Blocked">For <c>success</c>: the ids of the initiatives blocked when it was sent; else empty.</param>
public sealed record StoredDelivery(long FireTs, long EndedTs, string Outcome, long Attempts, IReadOnlyList<string> Blocked);

/// <summary>A KPI's stored status at an instant: its latest evaluation at or before it.</summary>
/// <param name="Rules">The rules it was judged under (<see cref="EvaluationStore.CurrentRules"/>).</param>
public sealed record StoredStatus(string Initiative, string Kpi, string Status, long Rules);

/// <summary>
/// What the scheduled updates covered and how each ended (the <c>update_deliveries</c> table), and the one read of the
/// evaluations they need: every KPI's status at an instant. Thread-safe: each call uses its own pooled connection.
/// </summary>
public sealed class UpdateStore(RoadmapDatabase database)
{
    /// <summary>The outcomes a row records.</summary>
    public const string Scheduled = "scheduled", Success = "success", Failure = "failure";

    private const string Columns = "SELECT fire_ts AS FireTs, ended_ts AS EndedTs, outcome AS Outcome, attempts AS Attempts, blocked AS Blocked FROM update_deliveries";

    /// <summary>The latest row of <paramref name="name"/> (by fire time); null when it was never seen.</summary>
    public StoredDelivery? Last(string name)
    {
        using var c = database.OpenConnection();
        return Delivery(c.QueryFirstOrDefault<DeliveryRow>(Columns + " WHERE name = @name ORDER BY fire_ts DESC LIMIT 1;", new { name }));
    }

    /// <summary>
    /// What the recipients of <paramref name="name"/> last heard: its latest <c>success</c>, or, before its first one, its
    /// <c>scheduled</c> row; null when it was never seen. Failures are skipped: their recipients heard nothing.
    /// </summary>
    public StoredDelivery? LastTold(string name)
    {
        using var c = database.OpenConnection();
        return Delivery(c.QueryFirstOrDefault<DeliveryRow>(Columns + " WHERE name = @name AND outcome IN ('success', 'scheduled') ORDER BY fire_ts DESC LIMIT 1;", new { name }));
    }

    /// <summary>The latest <c>success</c> of any update, sent at or before <paramref name="at"/>; null when none.</summary>
    public StoredDelivery? LastSuccessAtOrBefore(DateTimeOffset at)
    {
        using var c = database.OpenConnection();
        return Delivery(c.QueryFirstOrDefault<DeliveryRow>(Columns + " WHERE outcome = 'success' AND ended_ts <= @at ORDER BY ended_ts DESC LIMIT 1;", new { at = at.ToUnixTimeMilliseconds() }));
    }

    /// <summary>
    /// Records how the fire at <paramref name="fire"/> of <paramref name="name"/> ended. A second record of the same
    /// fire keeps the first: a fire is handled once.
    /// </summary>
    public void Record(string name, DateTimeOffset fire, DateTimeOffset ended, string outcome, int attempts, IReadOnlyCollection<string>? blocked = null)
    {
        using var c = database.OpenConnection();
        c.Execute(
            "INSERT OR IGNORE INTO update_deliveries (name, fire_ts, ended_ts, outcome, attempts, blocked) VALUES (@name, @fire, @ended, @outcome, @attempts, @blocked);",
            new
            {
                name,
                fire = fire.ToUnixTimeMilliseconds(),
                ended = ended.ToUnixTimeMilliseconds(),
                outcome,
                attempts,
                blocked = outcome == Success ? string.Join(",", blocked ?? []) : null,
            });
    }

    /// <summary>
    /// Every KPI's latest stored evaluation at or before <paramref name="at"/> (evaluations are stored at every status
    /// change, so this is its status then). KPIs with none stored by then are absent.
    /// </summary>
    public IReadOnlyList<StoredStatus> StatusesAt(DateTimeOffset at)
    {
        using var c = database.OpenConnection();
        return c.Query<StoredStatus>(
                """
                SELECT e.initiative AS Initiative, e.kpi AS Kpi, e.status AS Status, e.rules AS Rules
                FROM evaluations e
                JOIN (SELECT initiative, kpi, max(ts) AS ts FROM evaluations WHERE ts <= @at GROUP BY initiative, kpi) m
                  ON m.initiative = e.initiative AND m.kpi = e.kpi AND m.ts = e.ts;
                """,
                new { at = at.ToUnixTimeMilliseconds() })
            .AsList();
    }

    private static StoredDelivery? Delivery(DeliveryRow? r) =>
        r is null ? null : new StoredDelivery(r.FireTs, r.EndedTs, r.Outcome, r.Attempts, string.IsNullOrEmpty(r.Blocked) ? [] : r.Blocked.Split(','));
}

// The row shape of the queries above: named, so Dapper.AOT generates its reader.
internal sealed record DeliveryRow(long FireTs, long EndedTs, string Outcome, long Attempts, string? Blocked);
