using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>Turns the samples of a window into one number. Null means there is nothing to judge (no usable sample).</summary>
public static class Aggregates
{
    /// <summary>The quantile a percentile aggregate takes (0.95 for p95); null for every other aggregate, none of which
    /// needs a window's values, only its summary's numbers.</summary>
    public static double? PercentileOf(Aggregate aggregate) => aggregate switch
    {
        Aggregate.P50 => 0.50,
        Aggregate.P90 => 0.90,
        Aggregate.P95 => 0.95,
        Aggregate.P99 => 0.99,
        _ => null,
    };

    /// <param name="points">The samples of the aggregated signal (the numerator for ratio), oldest first. NaN samples are ignored.</param>
    /// <param name="denominator">For ratio only: every sample of the denominator signals.</param>
    public static double? Compute(Aggregate aggregate, IReadOnlyList<Point> points, IReadOnlyList<Point>? denominator = null) =>
        Compute(aggregate, SeriesSummary.FromPoints(points), denominator is null ? null : SeriesSummary.FromPoints(denominator));

    /// <summary>
    /// The aggregate over summarized samples: exactly what the list overload gives for the same samples, except
    /// that quantiles of a summary without <see cref="SeriesSummary.ExactValues"/> come from its sketch (within
    /// <see cref="QuantileSketch.RelativeAccuracy"/>).
    /// </summary>
    /// <param name="points">The summary of the aggregated signal (the numerator for ratio).</param>
    /// <param name="denominator">For ratio only: the summary of every sample of the denominator signals.</param>
    public static double? Compute(Aggregate aggregate, SeriesSummary points, SeriesSummary? denominator)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (aggregate == Aggregate.Ratio)
        {
            var below = denominator is { Count: > 0 } d ? d.Sum : 0;
            return below == 0 ? null : points.Sum / below;
        }

        if (aggregate == Aggregate.Count)
        {
            return points.Count;
        }

        if (points.Count == 0)
        {
            return null;
        }

        if (PercentileOf(aggregate) is { } q)
        {
            return QuantileOf(points, q);
        }

        return aggregate switch
        {
            Aggregate.Avg => points.Sum / points.Count,
            Aggregate.Min => points.Min,
            Aggregate.Max => points.Max,
            Aggregate.Last => points.LastValue,
            Aggregate.Sum => points.Sum,
            Aggregate.Increase => points.Count < 2 ? null : points.Increase,
            Aggregate.Rate => Rate(points),
            _ => throw new ArgumentOutOfRangeException(nameof(aggregate), aggregate, "unknown aggregate"),
        };
    }

    /// <summary>The q-quantile with linear interpolation between the closest ranks (numpy's default, Prometheus' quantile_over_time).</summary>
    public static double Quantile(IReadOnlyList<Point> values, double q)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = new double[values.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = values[i].Value;
        }

        return QuantileOfSorted(sorted, q);
    }

    private static double? QuantileOf(SeriesSummary points, double q)
    {
        if (points.ExactValues is not { } exact)
        {
            return points.Sketch.Quantile(q);
        }

        var sorted = new double[exact.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = exact[i];
        }

        return QuantileOfSorted(sorted, q);
    }

    /// <summary>Sorts <paramref name="values"/> in place and interpolates between the closest ranks.</summary>
    private static double QuantileOfSorted(double[] values, double q)
    {
        Array.Sort(values);
        var rank = q * (values.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return values[lo] + ((values[hi] - values[lo]) * (rank - lo));
    }

    /// <summary>Per-second increase over the span the samples cover.</summary>
    private static double? Rate(SeriesSummary points)
    {
        var seconds = (points.LastTimestampMs - points.FirstTimestampMs) / 1000.0;
        return points.Count >= 2 && seconds > 0 ? points.Increase / seconds : null;
    }
}
