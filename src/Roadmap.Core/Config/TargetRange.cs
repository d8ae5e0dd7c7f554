using System.Globalization;

namespace Roadmap.Core.Config;

/// <summary>
/// Targets a KPI's value can never meet, or always meets, because they lie outside what the value can be
/// (<see cref="ValueBounds"/>): <c>">= 99.9"</c> on the average of <c>up</c> (0 to 1) is a missing <c>%</c>, not an
/// objective. Such a target is a config error that suggests the fix. A percent target on a number of events
/// (<c>"&lt;= 1%"</c> on a bug count) is valid but almost certainly not meant: a warning.
/// </summary>
public static class TargetRange
{
    /// <summary>Reports at <c>target</c> a target outside the value's bounds (an error) or a percent on a count (a warning).</summary>
    public static void Check(ConfigSection kpi, Aggregate aggregate, string signal, string? unit, Target target)
    {
        ArgumentNullException.ThrowIfNull(kpi);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Value is not { } t)
        {
            return; // relative: its threshold is known only once the baseline is
        }

        var what = aggregate == Aggregate.Ratio ? $"the ratio of {signal}" : $"the {aggregate.Name()} of {signal}";
        var bounds = ValueBounds.Of(aggregate, signal, unit);
        if (OutOfRange(target.Op, t, bounds))
        {
            var verdict = AlwaysMet(target.Op, t, bounds) ? "it is always met" : "it can never be met";
            var range = double.IsPositiveInfinity(bounds.Max) ? "which is never negative" : $"which lies between {Number(bounds.Min)} and {Number(bounds.Max)}";
            kpi.Error("target", $"target \"{target.Text}\" compares {what}, {range}, with {Number(t)}: {verdict}{Hint(target, t, bounds)}");
            return;
        }

        if (IsCount(aggregate, signal) && target.Text.EndsWith('%'))
        {
            kpi.Warn("target", $"target \"{target.Text}\" is the fraction {Number(t)}, but {what} is a number of events: did you mean \"{target.Text.TrimEnd('%').TrimEnd()}\"?");
        }
    }

    /// <summary>Whether the KPI's value is a number of events: a count aggregate, or a count, hits, misses or *_total signal.</summary>
    public static bool IsCount(Aggregate aggregate, string signal) =>
        aggregate == Aggregate.Count
        || (aggregate is not (Aggregate.Rate or Aggregate.Ratio)
            && (signal is "count" or "hits" or "misses" || signal.EndsWith("_total", StringComparison.Ordinal)));

    /// <summary>For a 0..1 value: the percent the user most likely meant, or how to write one.</summary>
    private static string Hint(Target target, double t, ValueBounds bounds)
    {
        if (bounds != ValueBounds.UnitInterval || bounds.Contains(t))
        {
            return "";
        }

        return !target.Text.EndsWith('%') && t is > 1 and <= 100
            ? $"; did you mean \"{target.Text}%\"?"
            : "; write a fraction such as 0.999 or a percent such as 99.9%";
    }

    /// <summary>
    /// Whether <paramref name="t"/> lies outside the bounds, or on an edge where no value can meet it (<c>&gt; max</c>,
    /// <c>&lt; min</c>). A target on the edge that every value meets (<c>&gt;= 0</c>) is pointless but harmless.
    /// </summary>
    private static bool OutOfRange(Comparison op, double t, ValueBounds b) =>
        !b.Contains(t) || (op == Comparison.Greater && t >= b.Max) || (op == Comparison.Less && t <= b.Min);

    /// <summary>Whether every value within the bounds satisfies the comparison with <paramref name="t"/>.</summary>
    private static bool AlwaysMet(Comparison op, double t, ValueBounds b) => op switch
    {
        Comparison.GreaterOrEqual => t <= b.Min,
        Comparison.Greater => t < b.Min,
        Comparison.LessOrEqual => t >= b.Max,
        Comparison.Less => t > b.Max,
        _ => false,
    };

    private static string Number(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
