using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// The KPI evaluation history (for forecasts, status history and the API) and the computed baselines in the SQLite
/// file. All SQL on the evaluations and baselines tables is here. Thread-safe: each call uses its own pooled connection.
/// </summary>
internal sealed class SqliteEvaluationStore(RoadmapDatabase database) : IEvaluationStore
{
    private const int CurrentRules = IEvaluationStore.CurrentRules;

    public void Append(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        if (evaluations.Count == 0)
        {
            return;
        }

        SqliteFailures.Run(() => AppendAll(evaluations));
    }

    private void AppendAll(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        using var c = database.OpenConnection();
        using var tx = c.BeginTransaction();
        Insert(c, tx, evaluations);
        tx.Commit();
    }

    /// <summary>
    /// Inserts the rows of <see cref="Append"/> on <paramref name="c"/>, in <paramref name="tx"/> (null: in a
    /// transaction opened outside ADO.NET, as the writer's session does), without committing.
    /// </summary>
    internal static void Insert(SqliteConnection c, SqliteTransaction? tx, IReadOnlyCollection<KpiEvaluation> evaluations) =>
        c.Execute(
            "INSERT INTO evaluations (initiative, kpi, ts, value, target, status, rules) VALUES (@Initiative, @Kpi, @Ts, @Value, @Target, @Status, @Rules);",
            evaluations.Select(e => new
            {
                e.Initiative,
                e.Kpi,
                Ts = e.At.ToUnixTimeMilliseconds(),
                e.Value,
                e.Target,
                Status = e.Status.Label(),
                Rules = CurrentRules,
            }),
            tx);

    public IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return c.Query<Point>(
                "SELECT ts AS TimestampMs, value AS Value FROM evaluations WHERE initiative = @initiative AND kpi = @kpi AND ts >= @from AND ts <= @to AND value IS NOT NULL ORDER BY ts;",
                new { initiative, kpi, from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds() })
            .AsList();
    });

    public IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return c.Query<StoredEvaluation>(
                "SELECT ts AS TimestampMs, value AS Value, target AS Target, status AS Status, rules AS Rules FROM evaluations WHERE initiative = @initiative AND kpi = @kpi AND ts >= @from AND ts <= @to ORDER BY ts;",
                new { initiative, kpi, from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds() })
            .AsList();
    });

    public EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        // The bound keeps rows stored between the two statements for the next read.
        var last = c.QuerySingle<long>("SELECT coalesce(max(rowid), 0) FROM evaluations;");
        var fromMs = from.ToUnixTimeMilliseconds();
        if (last <= afterRow)
        {
            return new EvaluationRows(last, []);
        }

        var rows = afterRow > 0
            ? c.Query<StoredKpiEvaluation>(
                    "SELECT rowid AS Row, initiative AS Initiative, kpi AS Kpi, ts AS TimestampMs, value AS Value, target AS Target, status AS Status, rules AS Rules FROM evaluations WHERE rowid > @afterRow AND rowid <= @last AND ts >= @fromMs ORDER BY rowid;",
                    new { afterRow, last, fromMs })
                .AsList()
            : c.Query<StoredKpiEvaluation>(
                    """
                    SELECT e.rowid AS Row, e.initiative AS Initiative, e.kpi AS Kpi, e.ts AS TimestampMs, e.value AS Value, e.target AS Target, e.status AS Status, e.rules AS Rules
                    FROM json_each(@keys) k
                    JOIN evaluations e ON e.initiative = json_extract(k.value, '$[0]') AND e.kpi = json_extract(k.value, '$[1]') AND e.ts >= @fromMs
                    WHERE e.rowid <= @last
                    ORDER BY e.rowid;
                    """,
                    new { keys = KeysJson(kpis), last, fromMs })
                .AsList();
        return new EvaluationRows(last, rows);
    });

    /// <summary>
    /// <see cref="IEvaluationStore.Thinned"/> in one statement that reads only the rows it returns, never the rows it
    /// thins away: for each span, a recursive step from the previous kept row (at first, just before From) seeks the
    /// next row in time, whose bucket is the next one with rows, then that bucket's newest row. Both are seeks in the
    /// (initiative, kpi, ts) index, whose entries end with the rowid, so "the newest, the last stored of an instant" is
    /// the index's last entry in the bucket. Grouping the rows instead would read and sort every row of the spans.
    /// Rows stored after @last are left out, so <see cref="Since"/> from @last gets them.
    /// </summary>
    internal const string ThinnedSql = """
        WITH RECURSIVE
        spans(n, initiative, kpi, from_ts, grain) AS (
            SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')
            FROM json_each(@spans)
        ),
        kept(n, initiative, kpi, grain, next, row, ts, value, target, status, rules) AS (
            SELECT n, initiative, kpi, grain, from_ts / grain, NULL, from_ts - 1, NULL, NULL, NULL, NULL FROM spans
            UNION ALL
            SELECT k.n, k.initiative, k.kpi, k.grain, e.ts / k.grain + 1, e.rowid, e.ts, e.value, e.target, e.status, e.rules
            FROM kept k
            JOIN evaluations e ON e.rowid = coalesce(
                (SELECT b.rowid FROM evaluations b
                 WHERE b.initiative = k.initiative AND b.kpi = k.kpi AND b.rowid <= @last AND b.ts > k.ts AND b.ts < (k.next + 1) * k.grain
                 ORDER BY b.ts DESC, b.rowid DESC LIMIT 1),
                (SELECT b.rowid FROM evaluations b
                 WHERE b.initiative = k.initiative AND b.kpi = k.kpi AND b.rowid <= @last AND b.ts > k.ts
                   AND b.ts < ((SELECT f.ts FROM evaluations f
                                WHERE f.initiative = k.initiative AND f.kpi = k.kpi AND f.rowid <= @last AND f.ts > k.ts
                                ORDER BY f.ts LIMIT 1) / k.grain + 1) * k.grain
                 ORDER BY b.ts DESC, b.rowid DESC LIMIT 1))
        )
        SELECT row AS Row, initiative AS Initiative, kpi AS Kpi, ts AS TimestampMs, value AS Value, target AS Target, status AS Status, rules AS Rules
        FROM kept WHERE row IS NOT NULL
        ORDER BY n, ts;
        """;

    public EvaluationRows Thinned(IReadOnlyCollection<ThinnedSpan> spans, int maxPoints)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        return SqliteFailures.Run(() =>
        {
            using var c = database.OpenConnection();
            var last = c.QuerySingle<long>("SELECT coalesce(max(rowid), 0) FROM evaluations;");
            var distinct = spans.DistinctBy(s => (s.Initiative, s.Kpi)).ToList();
            // The recursion takes a step for every span in turn, each in another leaf of the index: with the default
            // page cache every step reads its leaf again from the file. A larger cache for this one read keeps them.
            var cache = c.QuerySingle<long>("PRAGMA cache_size;");
            c.Execute("PRAGMA cache_size = -16384;");
            try
            {
                var rows = c.Query<StoredKpiEvaluation>(ThinnedSql, new { spans = SpansJson(distinct, maxPoints), last }).AsList();
                return new EvaluationRows(last, rows);
            }
            finally
            {
                // The connection goes back to the pool: the other reads keep their cache (and its memory bound).
                c.Execute(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"PRAGMA cache_size = {cache};"));
            }
        });
    }

    /// <summary>[["initiative","kpi"], ...], written without reflection.</summary>
    private static string KeysJson(IReadOnlyCollection<(string Initiative, string Kpi)> kpis) => Json(kpis, static (json, k) =>
    {
        json.WriteStringValue(k.Initiative);
        json.WriteStringValue(k.Kpi);
    });

    /// <summary>[["initiative","kpi",fromMs,grainMs], ...], written without reflection.</summary>
    private static string SpansJson(IReadOnlyCollection<ThinnedSpan> spans, int maxPoints) => Json(spans, (json, s) =>
    {
        json.WriteStringValue(s.Initiative);
        json.WriteStringValue(s.Kpi);
        json.WriteNumberValue(s.FromMs);
        json.WriteNumberValue(s.GrainMs(maxPoints));
    });

    /// <summary>A JSON array of arrays, one per item, each written by <paramref name="write"/>.</summary>
    private static string Json<T>(IEnumerable<T> items, Action<System.Text.Json.Utf8JsonWriter, T> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var item in items)
            {
                json.WriteStartArray();
                write(json, item);
                json.WriteEndArray();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest() => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return c.Query<LatestRow>(
                """
                SELECT e.initiative AS Initiative, e.kpi AS Kpi, e.ts AS TimestampMs, e.value AS Value, e.target AS Target, e.status AS Status, e.rules AS Rules
                FROM evaluations e
                JOIN (SELECT initiative, kpi, max(ts) AS ts FROM evaluations GROUP BY initiative, kpi) m
                  ON m.initiative = e.initiative AND m.kpi = e.kpi AND m.ts = e.ts;
                """)
            .GroupBy(r => (r.Initiative, r.Kpi))
            .ToDictionary(g => g.Key, g => g.Select(r => new StoredEvaluation(r.TimestampMs, r.Value, r.Target, r.Status, r.Rules)).First());
    });

    public StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        var row = c.QueryFirstOrDefault<BaselineRow>(
            "SELECT value AS Value, samples AS Samples, computed_at AS ComputedAt FROM baselines WHERE initiative = @initiative AND kpi = @kpi AND from_date = @f AND to_date = @t AND definition = @definition;",
            new { initiative, kpi, f = from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), t = to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), definition });
        return row is { } r ? new StoredBaseline(r.Value, r.Samples, DateTimeOffset.FromUnixTimeMilliseconds(r.ComputedAt)) : null;
    });

    public void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        c.Execute(
            "INSERT OR IGNORE INTO baselines (initiative, kpi, from_date, to_date, definition, value, samples, computed_at) VALUES (@initiative, @kpi, @f, @t, @definition, @value, @samples, @at);",
            new
            {
                initiative,
                kpi,
                f = from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                t = to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                definition,
                value,
                samples,
                at = at.ToUnixTimeMilliseconds(),
            });
    });
}

// Row shapes for the queries above: named, not tuples, so Dapper.AOT generates their readers (it binds no tuples).
internal sealed record LatestRow(string Initiative, string Kpi, long TimestampMs, double? Value, double? Target, string Status, long Rules);

internal sealed record BaselineRow(double Value, long Samples, long ComputedAt);
