using Dapper;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>A KPI's stored baseline: the period's aggregate, computed once when the period has ended. Keyed by what was
/// measured, so redefining the KPI (another signal or aggregate) computes a new one instead of reusing a stale value.</summary>
public sealed record StoredBaseline(double Value, long Samples, DateTimeOffset ComputedAt);

/// <summary>
/// The KPI evaluation history (for forecasts, status history and the API) and the computed baselines. All SQL on
/// the evaluations and baselines tables is here. Thread-safe: each call uses its own pooled connection.
/// </summary>
public sealed class EvaluationStore(RoadmapDatabase database)
{
    /// <summary>
    /// The rules the evaluations stored now were judged under, kept in each row: 1 before error budgets over the
    /// whole window (a budget KPI was missed whenever its value was below the target), 2 since (missed only once its
    /// error budget is spent, or its deadline passed unmet). Rows written before the column existed read 1.
    /// </summary>
    public const int CurrentRules = 2;

    /// <summary>Appends evaluations in one transaction.</summary>
    public void Append(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        if (evaluations.Count == 0)
        {
            return;
        }

        using var c = database.OpenConnection();
        using var tx = c.BeginTransaction();
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
        tx.Commit();
    }

    /// <summary>The evaluated values (no-data rows left out) with from &lt;= ts &lt;= to, oldest first.</summary>
    public IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to)
    {
        using var c = database.OpenConnection();
        return c.Query<Point>(
                "SELECT ts AS TimestampMs, value AS Value FROM evaluations WHERE initiative = @initiative AND kpi = @kpi AND ts >= @from AND ts <= @to AND value IS NOT NULL ORDER BY ts;",
                new { initiative, kpi, from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds() })
            .AsList();
    }

    /// <summary>The status history: each stored evaluation's time, value, target and status, oldest first.</summary>
    public IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to)
    {
        using var c = database.OpenConnection();
        return c.Query<StoredEvaluation>(
                "SELECT ts AS TimestampMs, value AS Value, target AS Target, status AS Status, rules AS Rules FROM evaluations WHERE initiative = @initiative AND kpi = @kpi AND ts >= @from AND ts <= @to ORDER BY ts;",
                new { initiative, kpi, from = from.ToUnixTimeMilliseconds(), to = to.ToUnixTimeMilliseconds() })
            .AsList();
    }

    /// <summary>
    /// The evaluations of <paramref name="kpis"/> stored after row <paramref name="afterRow"/> with
    /// <paramref name="from"/> &lt;= ts: one read for the whole board. Rows are numbered as they are appended, so a
    /// reader that passes back <see cref="EvaluationRows.LastRow"/> gets only what was stored since (a range of row
    /// numbers, in the order they were stored); one that passes 0 gets each KPI's rows since <paramref name="from"/>
    /// through the (initiative, kpi, ts) index, never a scan of older history. A <see cref="EvaluationRows.LastRow"/>
    /// below <paramref name="afterRow"/> means the rows were renumbered (the database file was replaced): read again
    /// from 0.
    /// </summary>
    public EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis)
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
    }

    /// <summary>[["initiative","kpi"], ...], written without reflection.</summary>
    private static string KeysJson(IReadOnlyCollection<(string Initiative, string Kpi)> kpis)
    {
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var (initiative, kpi) in kpis)
            {
                json.WriteStartArray();
                json.WriteStringValue(initiative);
                json.WriteStringValue(kpi);
                json.WriteEndArray();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The latest stored evaluation of each KPI: where the history left off before a restart.</summary>
    public IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest()
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
    }

    public StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition)
    {
        using var c = database.OpenConnection();
        var row = c.QueryFirstOrDefault<BaselineRow>(
            "SELECT value AS Value, samples AS Samples, computed_at AS ComputedAt FROM baselines WHERE initiative = @initiative AND kpi = @kpi AND from_date = @f AND to_date = @t AND definition = @definition;",
            new { initiative, kpi, f = from.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), t = to.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), definition });
        return row is { } r ? new StoredBaseline(r.Value, r.Samples, DateTimeOffset.FromUnixTimeMilliseconds(r.ComputedAt)) : null;
    }

    /// <summary>Stores a baseline once; a second save of the same period keeps the first value.</summary>
    public void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at)
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
    }
}

// Row shapes for the queries above: named, not tuples, so Dapper.AOT generates their readers (it binds no tuples).
internal sealed record LatestRow(string Initiative, string Kpi, long TimestampMs, double? Value, double? Target, string Status, long Rules);

internal sealed record BaselineRow(double Value, long Samples, long ComputedAt);

/// <summary>What <see cref="EvaluationStore.Since"/> read: the rows, and the number of the last row stored when it read.</summary>
public sealed record EvaluationRows(long LastRow, IReadOnlyList<StoredKpiEvaluation> Rows);

/// <summary>An evaluation of any KPI as read back, with its row number (the order it was stored in).</summary>
public sealed record StoredKpiEvaluation(long Row, string Initiative, string Kpi, long TimestampMs, double? Value, double? Target, string Status, long Rules);

/// <summary>An evaluation as read back.</summary>
/// <param name="Rules">The rules its status was judged under (<see cref="EvaluationStore.CurrentRules"/>): 1 for rows
/// stored before error budgets over the whole window, whose budget-KPI statuses followed the value alone.</param>
public sealed record StoredEvaluation(long TimestampMs, double? Value, double? Target, string Status, long Rules);
