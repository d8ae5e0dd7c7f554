using Dapper;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// <see cref="IUpdateStore"/> on SQLite: the <c>update_deliveries</c> table. Thread-safe: each call uses its own pooled
/// connection.
/// </summary>
internal sealed class SqliteUpdateStore(RoadmapDatabase database) : IUpdateStore
{
    private const string Columns = "SELECT fire_ts AS FireTs, ended_ts AS EndedTs, outcome AS Outcome, attempts AS Attempts, blocked AS Blocked FROM update_deliveries";

    public StoredDelivery? Last(string name) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return Delivery(c.QueryFirstOrDefault<DeliveryRow>(Columns + " WHERE name = @name ORDER BY fire_ts DESC LIMIT 1;", new { name }));
    });

    public StoredDelivery? LastTold(string name) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return Delivery(c.QueryFirstOrDefault<DeliveryRow>(Columns + " WHERE name = @name AND outcome IN ('success', 'scheduled') ORDER BY fire_ts DESC LIMIT 1;", new { name }));
    });

    public StoredDelivery? LastSuccessAtOrBefore(DateTimeOffset at) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return Delivery(c.QueryFirstOrDefault<DeliveryRow>(Columns + " WHERE outcome = 'success' AND ended_ts <= @at ORDER BY ended_ts DESC LIMIT 1;", new { at = at.ToUnixTimeMilliseconds() }));
    });

    public void Record(string name, DateTimeOffset fire, DateTimeOffset ended, string outcome, int attempts, IReadOnlyCollection<string>? blocked = null) => SqliteFailures.Run(() =>
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
                blocked = outcome == IUpdateStore.Success ? string.Join(",", blocked ?? []) : null,
            });
    });

    public IReadOnlyList<StoredStatus> StatusesAt(DateTimeOffset at) => SqliteFailures.Run(() =>
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
    });

    private static StoredDelivery? Delivery(DeliveryRow? r) =>
        r is null ? null : new StoredDelivery(r.FireTs, r.EndedTs, r.Outcome, r.Attempts, string.IsNullOrEmpty(r.Blocked) ? [] : r.Blocked.Split(','));
}

// The row shape of the queries above: named, so Dapper.AOT generates its reader.
internal sealed record DeliveryRow(long FireTs, long EndedTs, string Outcome, long Attempts, string? Blocked);
