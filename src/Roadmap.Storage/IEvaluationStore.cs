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

    /// <summary>
    /// The evaluations of each span's KPI with <see cref="ThinnedSpan.From"/> &lt;= ts, thinned to one row per bucket:
    /// the newest row of each <see cref="ThinnedSpan.GrainMs(int)"/> (buckets counted from the unix epoch; of rows stored at
    /// the same instant, the last stored). Over From..To that is at most <paramref name="maxPoints"/> + 1 rows per KPI
    /// (a bucket may straddle each end), whatever the number of stored rows: what a sparkline draws, read at once for
    /// the whole board. Each KPI's rows oldest first, the KPIs in the order of <paramref name="spans"/> (each KPI once).
    /// <see cref="EvaluationRows.LastRow"/> is the number of the last row stored when it read, as for
    /// <see cref="Since"/>: pass it to <see cref="Since"/> to continue with what is stored afterwards.
    /// </summary>
    /// <remarks>
    /// This default reads every row of the spans (<see cref="Since"/> from row 0) and thins them in memory with
    /// <see cref="EvaluationThinning.Keep{T}"/>, so a backend is correct without it; a backend overrides it to thin
    /// where the rows are, reading only the rows it returns.
    /// </remarks>
    /// <param name="maxPoints">How many buckets a span is cut into; at least 1.</param>
    EvaluationRows Thinned(IReadOnlyCollection<ThinnedSpan> spans, int maxPoints)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        var kept = new Dictionary<(string Initiative, string Kpi), (ThinnedSpan Span, List<StoredKpiEvaluation> Rows)>(spans.Count);
        var order = new List<List<StoredKpiEvaluation>>(spans.Count);
        foreach (var span in spans)
        {
            if (kept.TryAdd((span.Initiative, span.Kpi), (span, [])))
            {
                order.Add(kept[(span.Initiative, span.Kpi)].Rows);
            }
        }

        var from = spans.Count == 0 ? DateTimeOffset.MaxValue : spans.Min(s => s.From);
        var read = Since(0, from, kept.Keys);
        foreach (var row in read.Rows)
        {
            if (kept.TryGetValue((row.Initiative, row.Kpi), out var k) && row.TimestampMs >= k.Span.FromMs)
            {
                EvaluationThinning.Keep(k.Rows, row, k.Span.GrainMs(maxPoints), static r => r.TimestampMs);
            }
        }

        return new EvaluationRows(read.LastRow, order.SelectMany(rows => rows).ToList());
    }

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

/// <summary>A KPI whose evaluations <see cref="IEvaluationStore.Thinned"/> reads: from <paramref name="From"/> on, cut
/// into buckets of (<paramref name="To"/> - <paramref name="From"/>) / maxPoints.</summary>
public sealed record ThinnedSpan(string Initiative, string Kpi, DateTimeOffset From, DateTimeOffset To)
{
    /// <summary>From, unix milliseconds UTC.</summary>
    public long FromMs => From.ToUnixTimeMilliseconds();

    /// <summary>The length of a bucket when the span is cut into <paramref name="maxPoints"/>, milliseconds; at least 1.</summary>
    public long GrainMs(int maxPoints) => GrainMs(From, To, maxPoints);

    /// <summary>The length of a bucket when <paramref name="from"/>..<paramref name="to"/> is cut into <paramref name="maxPoints"/>, milliseconds; at least 1.</summary>
    public static long GrainMs(DateTimeOffset from, DateTimeOffset to, int maxPoints) => Math.Max(1, (long)(to - from).TotalMilliseconds / maxPoints);
}

/// <summary>
/// The thinning rule of a KPI's trail, in one place: one point per bucket of a grain (buckets counted from the unix
/// epoch), the newest; of points at the same instant, the one kept last. The board's trails apply it as rows arrive,
/// <see cref="IEvaluationStore.Thinned"/>'s default to the rows it read; a backend that thins in its own query must
/// give the same rows.
/// </summary>
public static class EvaluationThinning
{
    /// <summary>
    /// Adds <paramref name="point"/> to <paramref name="points"/> (oldest first, one per bucket), or drops it when a
    /// newer point of its bucket is kept, whatever order the points come in.
    /// </summary>
    /// <param name="grainMs">The bucket length, milliseconds; at least 1.</param>
    public static void Keep<T>(List<T> points, T point, long grainMs, Func<T, long> timestampMs)
    {
        var ts = timestampMs(point);
        // Points come in the order they were stored, which is time order but for a clock set back or a backfill.
        var at = points.Count == 0 || ts > timestampMs(points[^1])
            ? points.Count
            : points.FindIndex(p => timestampMs(p) >= ts);
        var bucket = ts / grainMs;
        if (at < points.Count && timestampMs(points[at]) / grainMs == bucket)
        {
            if (timestampMs(points[at]) == ts)
            {
                points[at] = point; // stored again at the same instant: the later one wins
            }

            return; // a newer point of the same bucket is kept
        }

        if (at > 0 && timestampMs(points[at - 1]) / grainMs == bucket)
        {
            points[at - 1] = point;
            return;
        }

        points.Insert(at, point);
    }
}
