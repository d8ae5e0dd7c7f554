using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// The KPI evaluation history (for forecasts, status history and the API) and the computed baselines. Thread-safe.
/// Failures are <see cref="StorageException"/>s.
/// </summary>
public interface IEvaluationStore
{
    /// <summary>
    /// The rules the evaluations stored now were judged under, kept in each row: 1 before error budgets over the
    /// whole window (a budget KPI was missed whenever its value was below the target), 2 since (missed only once its
    /// error budget is spent, or its deadline passed unmet). Rows written before the rules were recorded read 1.
    /// </summary>
    const int CurrentRules = 2;

    /// <summary>Appends evaluations in one transaction (all or none), judged under <see cref="CurrentRules"/>.</summary>
    void Append(IReadOnlyCollection<KpiEvaluation> evaluations);

    /// <summary>The evaluated values (no-data rows left out) with from &lt;= ts &lt;= to, oldest first.</summary>
    IReadOnlyList<Point> Values(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to);

    /// <summary>The status history: each stored evaluation's time, value, target and status with from &lt;= ts &lt;= to, oldest first.</summary>
    IReadOnlyList<StoredEvaluation> History(string initiative, string kpi, DateTimeOffset from, DateTimeOffset to);

    /// <summary>
    /// The evaluations of <paramref name="kpis"/> stored after row <paramref name="afterRow"/> with
    /// <paramref name="from"/> &lt;= ts: one read for the whole board. Rows are numbered as they are appended, so a
    /// reader that passes back <see cref="EvaluationRows.LastRow"/> gets only what was stored since (a range of row
    /// numbers, in the order they were stored); one that passes 0 gets each KPI's rows since <paramref name="from"/>
    /// through the (initiative, kpi, ts) index, never a scan of older history. A <see cref="EvaluationRows.LastRow"/>
    /// below <paramref name="afterRow"/> means the rows were renumbered (the database file was replaced): read again
    /// from 0.
    /// </summary>
    EvaluationRows Since(long afterRow, DateTimeOffset from, IReadOnlyCollection<(string Initiative, string Kpi)> kpis);

    /// <summary>The latest stored evaluation of each KPI: where the history left off before a restart.</summary>
    IReadOnlyDictionary<(string Initiative, string Kpi), StoredEvaluation> Latest();

    /// <summary>The stored baseline of a KPI's period and definition (what was measured); null when none is stored.</summary>
    StoredBaseline? Baseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition);

    /// <summary>Stores a baseline once; a second save of the same period and definition keeps the first value.</summary>
    void SaveBaseline(string initiative, string kpi, DateOnly from, DateOnly to, string definition, double value, long samples, DateTimeOffset at);
}

/// <summary>A KPI's stored baseline: the period's aggregate, computed once when the period has ended. Keyed by what was
/// measured, so redefining the KPI (another signal or aggregate) computes a new one instead of reusing a stale value.</summary>
public sealed record StoredBaseline(double Value, long Samples, DateTimeOffset ComputedAt);

/// <summary>An evaluation as read back.</summary>
/// <param name="TimestampMs">When it was judged, unix milliseconds UTC.</param>
/// <param name="Value">The KPI's value; null: no data.</param>
/// <param name="Status">The status label (<c>met</c>, <c>on_track</c>, ...).</param>
/// <param name="Rules">The rules its status was judged under (<see cref="IEvaluationStore.CurrentRules"/>): 1 for rows
/// stored before error budgets over the whole window, whose budget-KPI statuses followed the value alone.</param>
public sealed record StoredEvaluation(long TimestampMs, double? Value, double? Target, string Status, long Rules);

/// <summary>What <see cref="IEvaluationStore.Since"/> read: the rows, and the number of the last row stored when it read.</summary>
public sealed record EvaluationRows(long LastRow, IReadOnlyList<StoredKpiEvaluation> Rows);

/// <summary>An evaluation of any KPI as read back, with its row number (the order it was stored in).</summary>
public sealed record StoredKpiEvaluation(long Row, string Initiative, string Kpi, long TimestampMs, double? Value, double? Target, string Status, long Rules);
