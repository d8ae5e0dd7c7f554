using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// <see cref="IUpdateStore"/> on PostgreSQL: the <c>update_deliveries</c> table. Thread-safe: each call uses its own
/// pooled connection.
/// </summary>
internal sealed class PostgresUpdateStore(PostgresStorage storage) : IUpdateStore
{
    private const string Columns = "SELECT fire_ts, ended_ts, outcome, attempts, blocked FROM update_deliveries";

    public StoredDelivery? Last(string name) =>
        One(Columns + " WHERE name = $1 ORDER BY fire_ts DESC LIMIT 1;", new NpgsqlParameter<string> { TypedValue = name });

    public StoredDelivery? LastTold(string name) =>
        One(Columns + " WHERE name = $1 AND outcome IN ('success', 'scheduled') ORDER BY fire_ts DESC LIMIT 1;", new NpgsqlParameter<string> { TypedValue = name });

    public StoredDelivery? LastSuccessAtOrBefore(DateTimeOffset at) =>
        One(Columns + " WHERE outcome = 'success' AND ended_ts <= $1 ORDER BY ended_ts DESC LIMIT 1;", new NpgsqlParameter<long> { TypedValue = at.ToUnixTimeMilliseconds() });

    public void Record(string name, DateTimeOffset fire, DateTimeOffset ended, string outcome, int attempts, IReadOnlyCollection<string>? blocked = null) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            "INSERT INTO update_deliveries (name, fire_ts, ended_ts, outcome, attempts, blocked) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING;",
            c);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fire.ToUnixTimeMilliseconds() });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ended.ToUnixTimeMilliseconds() });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = outcome });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = attempts });
        cmd.Parameters.Add(new NpgsqlParameter<string[]?> { TypedValue = outcome == IUpdateStore.Success ? [.. blocked ?? []] : null });
        return cmd.ExecuteNonQuery();
    });

    public IReadOnlyList<StoredStatus> StatusesAt(DateTimeOffset at) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            "SELECT DISTINCT ON (initiative, kpi) initiative, kpi, status, rules FROM evaluations WHERE ts <= $1 ORDER BY initiative, kpi, ts DESC, id DESC;",
            c);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = at.ToUnixTimeMilliseconds() });
        var rows = new List<StoredStatus>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            rows.Add(new StoredStatus(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3)));
        }

        return (IReadOnlyList<StoredStatus>)rows;
    });

    private StoredDelivery? One(string sql, NpgsqlParameter parameter) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.Add(parameter);
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new StoredDelivery(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.IsDBNull(4) ? [] : r.GetFieldValue<string[]>(4))
            : null;
    });
}
