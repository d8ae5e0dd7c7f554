using Npgsql;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// Reads for one evaluation round on one connection. A window's summary is one round trip: every piece
/// <see cref="WindowPlan"/> names (the raw edges, the hour and day rollups, and for a ragged start whether raw samples
/// older than it remain) goes to the server as one <see cref="NpgsqlBatch"/>, each statement finding the series by its
/// name, and the answers are combined here in time order. Not thread-safe.
/// </summary>
internal sealed class PostgresReadSession(PostgresStorage storage, NpgsqlConnection connection) : ISampleReadSession
{
    /// <summary>The series, found by name inside each statement: no round trip of its own.</summary>
    private const string Series = "(SELECT id FROM series WHERE source = $1 AND signal = $2)";

    private const string RawSql = $"SELECT ts, value FROM samples WHERE series_id = {Series} AND ts >= $3 AND ts < $4 ORDER BY ts";

    private const string OlderSql = $"SELECT EXISTS (SELECT 1 FROM samples WHERE series_id = {Series} AND ts <= $3)";

    private static readonly string HoursSql = RollupSql(RollupLevel.Hour);

    private static readonly string DaysSql = RollupSql(RollupLevel.Day);

    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to) => Run(() =>
    {
        using var batch = new NpgsqlBatch(connection);
        Add(batch, RawSql, source, signal, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds() + 1);
        var points = new List<Point>();
        using var r = batch.ExecuteReader();
        ReadRaw(r, points.Add);
        return points;
    });

    public SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to) => Run(() =>
    {
        var plan = WindowPlan.Of(from, to);
        var total = SeriesSummary.Empty();
        if (plan.End <= plan.From)
        {
            return total;
        }

        using var batch = new NpgsqlBatch(connection);
        if (plan.Raw)
        {
            Add(batch, RawSql, source, signal, plan.From, plan.End);
            using var raw = batch.ExecuteReader();
            ReadRaw(raw, total.Add);
            return total;
        }

        // In the order they are read back below; an empty range is still sent (it costs an index probe, not a trip).
        if (plan.RaggedStart)
        {
            Add(batch, OlderSql, source, signal, plan.From);
            Add(batch, HoursSql, source, signal, plan.EdgeHour, plan.FirstHour);
        }

        Add(batch, RawSql, source, signal, plan.From, plan.FirstHour);
        Add(batch, HoursSql, source, signal, plan.FirstHour, plan.FirstDay);
        Add(batch, DaysSql, source, signal, plan.FirstDay, plan.LastDay);
        Add(batch, HoursSql, source, signal, plan.LastDay, plan.LastHour);
        Add(batch, RawSql, source, signal, plan.LastHour, plan.End);
        using var r = batch.ExecuteReader();
        if (plan.RaggedStart)
        {
            var rawRemains = r.Read() && r.GetBoolean(0);
            r.NextResult();
            if (rawRemains)
            {
                r.NextResult(); // past the edge hour's rollup, unread
                ReadRaw(r, total.Add);
            }
            else
            {
                // Retention removed the edge's raw samples: its whole hour rollup stands in (documented approximation).
                ReadRollups(r, total);
                r.NextResult();
            }
        }
        else
        {
            ReadRaw(r, total.Add);
        }

        r.NextResult();
        ReadRollups(r, total);
        r.NextResult();
        ReadRollups(r, total);
        r.NextResult();
        ReadRollups(r, total);
        r.NextResult();
        var tail = SeriesSummary.Empty();
        ReadRaw(r, tail.Add);
        total.Append(tail);
        return total;
    });

    public SourceState? PollState(string source, SourceState? previous = null) => Run(() =>
    {
        (long, bool, string?)? last = null;
        using (var cmd = Command("SELECT ts, outcome, reason FROM polls WHERE source = $1 ORDER BY ts DESC LIMIT 1;", source))
        using (var r = cmd.ExecuteReader())
        {
            if (r.Read())
            {
                last = (r.GetInt64(0), r.GetString(1) == "success", r.IsDBNull(2) ? null : r.GetString(2));
            }
        }

        return PollStates.From(
            last,
            previous,
            after => After("SELECT ts FROM polls WHERE source = $1 AND ts > $2 AND outcome = 'success' ORDER BY ts DESC LIMIT 1;", source, after),
            after => After("SELECT ts FROM polls WHERE source = $1 AND ts > $2 ORDER BY ts LIMIT 1;", source, after));
    });

    public void Dispose() => connection.Dispose();

    private static string RollupSql(RollupLevel level) =>
        $"SELECT {PostgresRows.RollupColumns} FROM {level.Table} WHERE series_id = {Series} AND start_ts >= $3 AND start_ts < $4 ORDER BY start_ts";

    private T Run<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
        {
            if (PostgresFailures.IsConnectionLost(e))
            {
                storage.ForgetConnections();
            }

            throw PostgresFailures.Wrap(e);
        }
    }

    private static void Add(NpgsqlBatch batch, string sql, string source, string signal, params long[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = signal });
        foreach (var v in values)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = v });
        }

        batch.BatchCommands.Add(command);
    }

    private NpgsqlCommand Command(string sql, string source)
    {
        var cmd = new NpgsqlCommand(sql, connection);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
        return cmd;
    }

    private long? After(string sql, string source, long after)
    {
        using var cmd = Command(sql, source);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        return cmd.ExecuteScalar() is long ts ? ts : null;
    }

    private static void ReadRaw(NpgsqlDataReader r, Action<Point> add)
    {
        while (r.Read())
        {
            add(new Point(r.GetInt64(0), r.GetDouble(1)));
        }
    }

    private static void ReadRollups(NpgsqlDataReader r, SeriesSummary total)
    {
        QuantileSketch? sketch = null;
        while (r.Read())
        {
            // The numbers go through Append (one counter-reset rule for everyone); the sketch bytes are merged straight
            // into the total's sketch instead of being decoded into a sketch per row first.
            total.Append(PostgresRows.Rollup(r, withSketch: false));
            sketch ??= total.Sketch;
            sketch.MergeFrom(r.GetFieldValue<byte[]>(9));
        }
    }
}
