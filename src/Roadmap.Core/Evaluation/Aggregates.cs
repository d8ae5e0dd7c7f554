using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>Turns the samples of a window into one number. Null means there is nothing to judge (no usable sample).</summary>
public static class Aggregates
{
    /// <param name="points">The samples of the aggregated signal (the numerator for ratio), oldest first. NaN samples are ignored.</param>
    /// <param name="denominator">For ratio only: every sample of the denominator signals.</param>
    public static double? Compute(Aggregate aggregate, IReadOnlyList<Point> points, IReadOnlyList<Point>? denominator = null)
    {
        var values = points.Where(p => !double.IsNaN(p.Value)).ToList();
        if (aggregate == Aggregate.Ratio)
        {
            var below = (denominator ?? []).Where(p => !double.IsNaN(p.Value)).Sum(p => p.Value);
            return below == 0 ? null : values.Sum(p => p.Value) / below;
        }

        if (aggregate == Aggregate.Count)
        {
            return values.Count;
        }

        if (values.Count == 0)
        {
            return null;
        }

        return aggregate switch
        {
            Aggregate.Avg => values.Average(p => p.Value),
            Aggregate.Min => values.Min(p => p.Value),
            Aggregate.Max => values.Max(p => p.Value),
            Aggregate.Last => values[^1].Value,
            Aggregate.Sum => values.Sum(p => p.Value),
            Aggregate.P50 => Quantile(values, 0.50),
            Aggregate.P90 => Quantile(values, 0.90),
            Aggregate.P95 => Quantile(values, 0.95),
            Aggregate.P99 => Quantile(values, 0.99),
            Aggregate.Increase => Increase(values),
            Aggregate.Rate => Rate(values),
            _ => throw new ArgumentOutOfRangeException(nameof(aggregate), aggregate, "unknown aggregate"),
        };
    }

    /// <summary>The q-quantile with linear interpolation between the closest ranks (numpy's default, Prometheus' quantile_over_time).</summary>
    public static double Quantile(IReadOnlyList<Point> values, double q)
    {
        var sorted = values.Select(p => p.Value).Order().ToArray();
        var rank = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    /// <summary>A counter's increase: the sum of its rises; a fall is a reset, after which the new value is all increase.</summary>
    private static double? Increase(List<Point> values)
    {
        if (values.Count < 2)
        {
            return null;
        }

        var total = 0.0;
        for (var i = 1; i < values.Count; i++)
        {
            var delta = values[i].Value - values[i - 1].Value;
            total += delta >= 0 ? delta : values[i].Value;
        }

        return total;
    }

    /// <summary>Per-second increase over the span the samples cover.</summary>
    private static double? Rate(List<Point> values)
    {
        var seconds = (values[^1].TimestampMs - values[0].TimestampMs) / 1000.0;
        return Increase(values) is { } inc && seconds > 0 ? inc / seconds : null;
    }
}
