using System.Globalization;

namespace Roadmap.Core.Config;

/// <summary>
/// Targets a KPI's value can never meet, or always meets, because they lie outside the range the value can take:
/// <c>">= 99.9"</c> on the average of <c>up</c> (0 to 1) is a missing <c>%</c>, not an objective. Where the range is
/// known, such a target is a config error that suggests the fix; a percent target on a count is only warned about.
/// </summary>
/// <remarks>
/// The range comes from the aggregate and from Prometheus' naming conventions for the signal, which the source kinds
/// follow: <c>up</c> is 0 or 1 and a name ending in <c>_ratio</c> lies between 0 and 1 (so do their avg, min, max, last
/// and quantiles), and so does every <c>ratio</c> aggregate or a KPI with <c>unit: ratio</c>; a <c>count</c> aggregate,
/// a <c>count</c>, <c>hits</c> or <c>misses</c> signal or a name ending in <c>_total</c> is a number of events.
/// Anything else (a <c>value</c> from a query, a rate, an increase of a gauge) has no known range and is not judged.
/// </remarks>
public static class TargetRange
{
    private static readonly HashSet<Aggregate> Pointwise =
        [Aggregate.Avg, Aggregate.Min, Aggregate.Max, Aggregate.Last, Aggregate.P50, Aggregate.P90, Aggregate.P95, Aggregate.P99];

    /// <summary>Reports at <c>target</c> a target outside the value's range (an error) or a percent on a count (a warning).</summary>
    public static void Check(ConfigSection kpi, Aggregate aggregate, string signal, string? unit, Target target)
    {
        ArgumentNullException.ThrowIfNull(kpi);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Value is not { } t)
        {
            return; // relative: its threshold is known only once the baseline is
        }

        var what = aggregate == Aggregate.Ratio ? $"the ratio of {signal}" : $"the {aggregate.Name()} of {signal}";
        if (IsFraction(aggregate, signal, unit))
        {
            if (!OutOfRange(target.Op, t, 0, 1))
            {
                return;
            }

            var verdict = AlwaysMet(target.Op, t, 0, 1) ? "it is always met" : "it can never be met";
            var percent = target.Text.EndsWith('%');
            var hint = t is >= 0 and <= 1 ? ""
                : !percent && t is > 1 and <= 100 ? $"; did you mean \"{target.Text}%\"?"
                : "; write a fraction such as 0.999 or a percent such as 99.9%";
            kpi.Error("target", $"target \"{target.Text}\" compares {what}, which lies between 0 and 1, with {Number(t)}: {verdict}{hint}");
            return;
        }

        if (IsCount(aggregate, signal))
        {
            if (OutOfRange(target.Op, t, 0, double.PositiveInfinity))
            {
                var verdict = AlwaysMet(target.Op, t, 0, double.PositiveInfinity) ? "it is always met" : "it can never be met";
                kpi.Error("target", $"target \"{target.Text}\" compares {what}, a number of events (0 or more), with {Number(t)}: {verdict}");
            }
            else if (target.Text.EndsWith('%'))
            {
                kpi.Warn("target", $"target \"{target.Text}\" is the fraction {Number(t)}, but {what} is a number of events: did you mean \"{target.Text.TrimEnd('%').TrimEnd()}\"?");
            }
        }
    }

    /// <summary>Whether the KPI's value always lies between 0 and 1.</summary>
    public static bool IsFraction(Aggregate aggregate, string signal, string? unit) =>
        aggregate == Aggregate.Ratio
        || string.Equals(unit, "ratio", StringComparison.OrdinalIgnoreCase)
        || (Pointwise.Contains(aggregate) && (signal == "up" || signal.EndsWith("_ratio", StringComparison.Ordinal)));

    /// <summary>Whether the KPI's value is a number of events (0 or more).</summary>
    public static bool IsCount(Aggregate aggregate, string signal) =>
        aggregate == Aggregate.Count
        || (aggregate != Aggregate.Rate && aggregate != Aggregate.Ratio
            && (signal is "count" or "hits" or "misses" || signal.EndsWith("_total", StringComparison.Ordinal)));

    /// <summary>
    /// Whether <paramref name="t"/> lies outside [lo, hi], or on its edge where no value can meet it (<c>&gt; hi</c>,
    /// <c>&lt; lo</c>). A target on the edge that every value meets (<c>&gt;= lo</c>) is pointless but harmless.
    /// </summary>
    private static bool OutOfRange(Comparison op, double t, double lo, double hi) =>
        t < lo || t > hi || (op == Comparison.Greater && t >= hi) || (op == Comparison.Less && t <= lo);

    /// <summary>Whether every value in [lo, hi] satisfies the comparison with <paramref name="t"/> (t outside the range).</summary>
    private static bool AlwaysMet(Comparison op, double t, double lo, double hi) => op switch
    {
        Comparison.GreaterOrEqual => t <= lo,
        Comparison.Greater => t < lo,
        Comparison.LessOrEqual => t >= hi,
        Comparison.Less => t > hi,
        _ => false,
    };

    private static string Number(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
