using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>A robust line through a KPI's evaluation history: value = Intercept + Slope × seconds since Origin.</summary>
/// <param name="Sigma">The spread of the history around the line: 1.4826 × the median absolute residual (a normal
/// distribution's standard deviation, unmoved by a few outliers). 0 when the points lie on the line.</param>
public sealed record LinearTrend(DateTimeOffset Origin, double Intercept, double Slope, int Points, TimeSpan Span, double Sigma = 0)
{
    public double At(DateTimeOffset when) => Intercept + (Slope * (when - Origin).TotalSeconds);
}

/// <summary>Where a KPI's trend puts it at its deadline, how sure that is, and the chance it meets its target then.</summary>
/// <param name="Value">The trend's value at the deadline, bounded to what the value can be.</param>
/// <param name="Lower">The 80% prediction interval's lower end (10th percentile), bounded likewise.</param>
/// <param name="Upper">The 80% prediction interval's upper end (90th percentile), bounded likewise.</param>
/// <param name="Probability">The probability that the value meets the target at the deadline, 0..1.</param>
public sealed record ForecastResult(double Value, double Lower, double Upper, double Probability);

/// <summary>Fits the trend a forecast projects to the deadline, and judges it. Pure.</summary>
public static class Forecast
{
    /// <summary>Fewer points than this is too little history to forecast. 5.</summary>
    public const int MinPoints = 5;

    /// <summary>History spanning less than this is too little to forecast: a minute's noise is not a trend. 1 hour.</summary>
    public static readonly TimeSpan MinSpan = TimeSpan.FromHours(1);

    /// <summary>The slope is the median of the pairwise slopes of at most this many points, evenly spaced through
    /// the history (30 days at one point per 5 minutes is 8,640 points, 37 million pairs). 200 (19,900 pairs).</summary>
    public const int MaxSlopePoints = 200;

    /// <summary>A KPI is on_track when the probability of meeting its target at the deadline is at least this. 0.5:
    /// more likely than not.</summary>
    public const double OnTrackProbability = 0.5;

    /// <summary>The normal quantile of the 80% prediction interval's ends (the 10th and 90th percentiles). 1.2816.</summary>
    public const double Z80 = 1.2815515655446004;

    /// <summary>
    /// The Theil–Sen line through the points (NaN and infinite values ignored): slope = median of the pairwise
    /// slopes, intercept = median of (y − slope × x). Up to 29% of the points can be arbitrary without moving it
    /// far, where one wild point moves a least-squares line. Null when there is too little history.
    /// </summary>
    public static LinearTrend? Fit(IReadOnlyList<Point> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var points = history.Where(p => double.IsFinite(p.Value)).OrderBy(p => p.TimestampMs).ToList();
        if (points.Count < MinPoints)
        {
            return null;
        }

        var first = points[0].TimestampMs;
        var span = TimeSpan.FromMilliseconds(points[^1].TimestampMs - first);
        if (span < MinSpan)
        {
            return null;
        }

        // Seconds since the first point keep the arithmetic well conditioned over months of unix-millisecond stamps.
        double X(Point p) => (p.TimestampMs - first) / 1000.0;
        var thinned = Thin(points, MaxSlopePoints);
        var slopes = new List<double>(thinned.Count * (thinned.Count - 1) / 2);
        for (var i = 0; i < thinned.Count; i++)
        {
            for (var j = i + 1; j < thinned.Count; j++)
            {
                var dx = X(thinned[j]) - X(thinned[i]);
                if (dx > 0)
                {
                    slopes.Add((thinned[j].Value - thinned[i].Value) / dx);
                }
            }
        }

        var slope = slopes.Count == 0 ? 0 : Median(slopes);
        var intercept = Median(points.Select(p => p.Value - (slope * X(p))).ToList());
        var mad = Median(points.Select(p => Math.Abs(p.Value - intercept - (slope * X(p)))).ToList());
        return new LinearTrend(DateTimeOffset.FromUnixTimeMilliseconds(first), intercept, slope, points.Count, span, 1.4826 * mad);
    }

    /// <summary>
    /// The forecast at <paramref name="deadline"/>: the line's value and its 80% prediction interval
    /// (± <see cref="Z80"/> × sigma, the residuals' spread; the slope's own uncertainty is not added), each bounded to
    /// <paramref name="bounds"/>; and the probability of meeting the target, the normal CDF of the margin over sigma
    /// (with sigma 0: 1 when the line meets the target, else 0).
    /// </summary>
    public static ForecastResult Project(LinearTrend trend, DateTimeOffset deadline, Comparison op, double target, ValueBounds bounds)
    {
        ArgumentNullException.ThrowIfNull(trend);
        var raw = trend.At(deadline);
        var value = bounds.Clamp(raw);
        var lower = bounds.Clamp(raw - (Z80 * trend.Sigma));
        var upper = bounds.Clamp(raw + (Z80 * trend.Sigma));
        return new ForecastResult(value, lower, upper, Probability(op, value, target, trend.Sigma));
    }

    /// <summary>P(value at the deadline satisfies OP target) for a normal error of <paramref name="sigma"/> around
    /// <paramref name="forecast"/>. <c>==</c> is a single point: 0 unless sigma is 0 and the forecast is the target.</summary>
    public static double Probability(Comparison op, double forecast, double target, double sigma)
    {
        if (op == Comparison.Equal && sigma > 0)
        {
            return 0;
        }

        if (!(sigma > 0) || op == Comparison.Equal)
        {
            return Target.Satisfies(op, forecast, target) ? 1 : 0;
        }

        var margin = op is Comparison.GreaterOrEqual or Comparison.Greater ? forecast - target : target - forecast;
        return NormalCdf(margin / sigma);
    }

    /// <summary>The standard normal CDF, by the complementary error function (Numerical Recipes' erfc, |error| &lt; 1.2e-7).</summary>
    public static double NormalCdf(double z)
    {
        var x = Math.Abs(z) / Math.Sqrt(2);
        var t = 1 / (1 + (0.5 * x));
        double[] c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        var poly = 0.0;
        for (var i = c.Length - 1; i >= 0; i--)
        {
            poly = c[i] + (t * poly);
        }

        var erfc = t * Math.Exp((-x * x) + poly);
        return z >= 0 ? 1 - (erfc / 2) : erfc / 2;
    }

    /// <summary>At most <paramref name="max"/> points evenly spaced by index, the first and the last kept.</summary>
    private static List<Point> Thin(List<Point> points, int max)
    {
        if (points.Count <= max)
        {
            return points;
        }

        var thinned = new List<Point>(max);
        for (var i = 0; i < max; i++)
        {
            thinned.Add(points[(int)Math.Round(i * (points.Count - 1) / (double)(max - 1))]);
        }

        return thinned;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }
}
