using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>Reads stored samples and polls from PostgreSQL. Thread-safe: each call uses its own pooled connection; for
/// many reads in a row (an evaluation round) use <see cref="OpenSession"/>.</summary>
/// <param name="closedDays">The merged day rollups its sessions keep between rounds.</param>
internal sealed class PostgresSampleReader(PostgresStorage storage, ClosedDaysCache closedDays) : SessionSampleReader
{
    public override ISampleReadSession OpenSession() => PostgresFailures.Run(() => new PostgresReadSession(storage, storage.OpenConnection(), closedDays));

    public override IReadOnlyList<StoredPoll> Polls(string source, DateTimeOffset from, DateTimeOffset to) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT source, ts, duration_ms, outcome, reason FROM polls WHERE source = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts;", c);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from.ToUnixTimeMilliseconds() });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to.ToUnixTimeMilliseconds() });
        var polls = new List<StoredPoll>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            polls.Add(new StoredPoll(r.GetString(0), r.GetInt64(1), r.GetDouble(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)));
        }

        return polls;
    });

    public override long CountPolls(string? source = null) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(source is null ? "SELECT count(*) FROM polls;" : "SELECT count(*) FROM polls WHERE source = $1;", c);
        if (source is not null)
        {
            cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
        }

        return cmd.ExecuteScalar() is long n ? n : 0;
    });
}
