using Npgsql;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The KPI evaluation history and the computed baselines on PostgreSQL. All SQL on the evaluations and baselines tables
/// is here. Thread-safe: each call uses its own pooled connection. Row numbers (<see cref="Since"/>) are the
/// <c>id</c> column, drawn from a sequence as rows are appended.
/// </summary>
internal sealed class PostgresEvaluationStore(PostgresStorage storage) : IEvaluationStore
{
    private const string Columns = "ts, value, target, status, rules";

    public void Append(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        if (evaluations.Count == 0)
        {
            return;
        }

        storage.Run(c =>
        {
            var created = new List<string>();
            using var tx = c.BeginTransaction();
            Insert(storage.Partitions, c, tx, evaluations, created);
            tx.Commit();
            storage.Partitions.Committed(created);
            return 0;
        });
    }

    /// <summary>
    /// Inserts the rows of <see cref="Append"/> in <paramref name="tx"/>, without committing; the partitions it
    /// creates are added to <paramref name="created"/> (<see cref="Partitions.Committed"/> after the commit).
    /// </summary>
    internal static void Insert(Partitions partitions, NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyCollection<KpiEvaluation> evaluations, List<string> created)
    {
        var table = PartitionedTable.Evaluations;
        partitions.Ensure(c, tx, table, evaluations.Select(e => table.StartOf(e.At.ToUnixTimeMilliseconds())).Distinct(), created);
        using var cmd = new NpgsqlCommand(
            """
            INSERT INTO evaluations (initiative, kpi, ts, value, target, status, rules)
            SELECT i, k, t, v, g, s, $7 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::float8[], $6::text[]) AS u(i, k, t, v, g, s);
            """,
            c,
            tx);
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = evaluations.Select(e => e.Initiative).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = evaluations.Select(e => e.Kpi).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = evaluations.Select(e => e.At.ToUnixTimeMilliseconds()).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = evaluations.Select(e => e.Value).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = evaluations.Select(e => e.Target).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = evaluations.Select(e => e.Status.Label()).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = IEvaluationStore.CurrentRules });
        cmd.ExecuteNonQuery();
    }

    public IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => storage.Run(c =>
    {
        using var cmd = Query(c, "SELECT ts, value FROM evaluations WHERE initiative = $1 AND kpi = $2 AND ts >= $3 AND ts <= $4 AND value IS NOT NULL ORDER BY ts;", initiative, kpi, from, to);
        var points = new List<Point>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            points.Add(new Point(r.GetInt64(0), r.GetDouble(1)));
        }

        return points;
    });

    public IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => storage.Run(c =>
    {
        using var cmd = Query(c, $"SELECT {Columns} FROM evaluations WHERE initiative = $1 AND kpi = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts, id;", initiative, kpi, from, to);
        var rows = new List<StoredEvaluation>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            rows.Add(Evaluation(r, 0));
        }

        return rows;
    });

    public EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis) => storage.Run(c =>
    {
        // The bound keeps rows stored between the two statements for the next read.
        long last;
        using (var max = new NpgsqlCommand("SELECT coalesce(max(id), 0) FROM evaluations;", c))
        {
            last = max.ExecuteScalar() is long n ? n : 0;
        }

        if (last <= afterRow)
        {
            return new EvaluationRows(last, []);
        }

        using var cmd = afterRow > 0
            ? new NpgsqlCommand($"SELECT id, initiative, kpi, {Columns} FROM evaluations WHERE id > $1 AND id <= $2 AND ts >= $3 ORDER BY id;", c)
            : new NpgsqlCommand(
                $"""
                SELECT e.id, e.initiative, e.kpi, e.ts, e.value, e.target, e.status, e.rules
                FROM unnest($4::text[], $5::text[]) AS k(initiative, kpi)
                JOIN evaluations e ON e.initiative = k.initiative AND e.kpi = k.kpi AND e.ts >= $3
                WHERE e.id > $1 AND e.id <= $2
                ORDER BY e.id;
                """,
                c);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterRow });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from.ToUnixTimeMilliseconds() });
        if (afterRow <= 0)
        {
            cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = kpis.Select(k => k.Initiative).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = kpis.Select(k => k.Kpi).ToArray() });
        }

        var rows = new List<StoredKpiEvaluation>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var e = Evaluation(r, 3);
            rows.Add(new StoredKpiEvaluation(r.GetInt64(0), r.GetString(1), r.GetString(2), e.TimestampMs, e.Value, e.Target, e.Status, e.Rules));
        }

        return new EvaluationRows(last, rows);
    });

    /// <remarks>
    /// One statement for the whole board: per span, a walk back from its newest row, each step a backward seek in the
    /// (initiative, kpi, ts) index to the newest row before the bucket of the row just found. Only buckets that hold a
    /// row are visited, so a stray row far in the future (a clock that jumped) costs one step, not a bucket per grain
    /// up to it.
    /// </remarks>
    public EvaluationRows Thinned(IReadOnlyCollection<ThinnedSpan> spans, int maxPoints) => storage.Run(c =>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        long last;
        using (var max = new NpgsqlCommand("SELECT coalesce(max(id), 0) FROM evaluations;", c))
        {
            last = max.ExecuteScalar() is long n ? n : 0;
        }

        if (spans.Count == 0 || last == 0)
        {
            return new EvaluationRows(last, []);
        }

        // Bounded by the last row number read above, as Since is: what is stored meanwhile comes with the next Since.
        using var cmd = new NpgsqlCommand(
            """
            WITH RECURSIVE k AS (
                SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS k(initiative, kpi, from_ts, grain, ord)
            ),
            walk AS (
                SELECT k.ord, k.initiative, k.kpi, k.from_ts, k.grain, e.id, e.ts, e.value, e.target, e.status, e.rules
                FROM k CROSS JOIN LATERAL (
                    SELECT x.id, x.ts, x.value, x.target, x.status, x.rules FROM evaluations x
                    WHERE x.initiative = k.initiative AND x.kpi = k.kpi AND x.ts >= k.from_ts AND x.id <= $1
                    ORDER BY x.ts DESC, x.id DESC
                    LIMIT 1
                ) e
                UNION ALL
                SELECT w.ord, w.initiative, w.kpi, w.from_ts, w.grain, e.id, e.ts, e.value, e.target, e.status, e.rules
                FROM walk w CROSS JOIN LATERAL (
                    SELECT x.id, x.ts, x.value, x.target, x.status, x.rules FROM evaluations x
                    WHERE x.initiative = w.initiative AND x.kpi = w.kpi AND x.ts >= w.from_ts AND x.id <= $1
                      AND x.ts < floor(w.ts::numeric / w.grain)::bigint * w.grain
                    ORDER BY x.ts DESC, x.id DESC
                    LIMIT 1
                ) e
            )
            SELECT id, initiative, kpi, ts, value, target, status, rules FROM walk ORDER BY ord, ts, id;
            """,
            c);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = spans.Select(s => s.Initiative).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = spans.Select(s => s.Kpi).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = spans.Select(s => s.FromMs).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = spans.Select(s => s.GrainMs(maxPoints)).ToArray() });
        var rows = new List<StoredKpiEvaluation>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var e = Evaluation(r, 3);
            rows.Add(new StoredKpiEvaluation(r.GetInt64(0), r.GetString(1), r.GetString(2), e.TimestampMs, e.Value, e.Target, e.Status, e.Rules));
        }

        return new EvaluationRows(last, rows);
    });

    public IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest() => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand($"SELECT DISTINCT ON (initiative, kpi) initiative, kpi, {Columns} FROM evaluations ORDER BY initiative, kpi, ts DESC, id DESC;", c);
        var latest = new Dictionary<(string, string), StoredEvaluation>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            latest[(r.GetString(0), r.GetString(1))] = Evaluation(r, 2);
        }

        return (IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation>)latest;
    });

    public StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand("SELECT value, samples, computed_at FROM baselines WHERE initiative = $1 AND kpi = $2 AND from_date = $3 AND to_date = $4 AND definition = $5;", c);
        BindBaseline(cmd, initiative, kpi, from, to, definition);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new StoredBaseline(r.GetDouble(0), r.GetInt64(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))) : null;
    });

    public void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at) => storage.Run(c =>
    {
        using var cmd = new NpgsqlCommand(
            "INSERT INTO baselines (initiative, kpi, from_date, to_date, definition, value, samples, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING;",
            c);
        BindBaseline(cmd, initiative, kpi, from, to, definition);
        cmd.Parameters.Add(new NpgsqlParameter<double> { TypedValue = value });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = samples });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = at.ToUnixTimeMilliseconds() });
        return cmd.ExecuteNonQuery();
    });

    /// <summary>Reads the columns of <see cref="Columns"/> starting at <paramref name="at"/>.</summary>
    private static StoredEvaluation Evaluation(NpgsqlDataReader r, int at) => new(
        r.GetInt64(at),
        r.IsDBNull(at + 1) ? null : r.GetDouble(at + 1),
        r.IsDBNull(at + 2) ? null : r.GetDouble(at + 2),
        r.GetString(at + 3),
        r.GetInt32(at + 4));

    private static NpgsqlCommand Query(NpgsqlConnection c, string sql, string initiative, string kpi, DateTimeOffset from, DateTimeOffset to)
    {
        var cmd = new NpgsqlCommand(sql, c);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = initiative });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kpi });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from.ToUnixTimeMilliseconds() });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to.ToUnixTimeMilliseconds() });
        return cmd;
    }

    private static void BindBaseline(NpgsqlCommand cmd, string initiative, string kpi, DateOnly from, DateOnly to, string definition)
    {
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = initiative });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kpi });
        cmd.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = from });
        cmd.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = to });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = definition });
    }
}
