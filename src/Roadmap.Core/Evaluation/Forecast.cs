namespace Roadmap.Core.Evaluation;

/// <summary>A least-squares line through a KPI's evaluation history: value = Intercept + Slope × seconds since Origin.</summary>
public sealed record LinearTrend(DateTimeOffset Origin, double Intercept, double Slope, int Points, TimeSpan Span)
{
    public double At(DateTimeOffset when) => Intercept + (Slope * (when - Origin).TotalSeconds);
}

/// <summary>Fits the trend a forecast projects to the deadline. Pure.</summary>
public static class Forecast
{
    /// <summary>Fewer points than this is too little history to forecast. 5.</summary>
    public const int MinPoints = 5;

    /// <summary>History spanning less than this is too little to forecast: a minute's noise is not a trend. 1 hour.</summary>
    public static readonly TimeSpan MinSpan = TimeSpan.FromHours(1);

    /// <summary>The least-squares line through the points (NaN values ignored); null when there is too little history.</summary>
    public static LinearTrend? Fit(IReadOnlyList<Point> history)
    {
        var points = history.Where(p => double.IsFinite(p.Value)).ToList();
        if (points.Count < MinPoints)
        {
            return null;
        }

        var first = points.Min(p => p.TimestampMs);
        var last = points.Max(p => p.TimestampMs);
        var span = TimeSpan.FromMilliseconds(last - first);
        if (span < MinSpan)
        {
            return null;
        }

        // Centred sums keep the arithmetic well conditioned over months of unix-millisecond timestamps.
        var n = points.Count;
        var meanX = points.Average(p => (p.TimestampMs - first) / 1000.0);
        var meanY = points.Average(p => p.Value);
        double sxx = 0, sxy = 0;
        foreach (var p in points)
        {
            var dx = ((p.TimestampMs - first) / 1000.0) - meanX;
            sxx += dx * dx;
            sxy += dx * (p.Value - meanY);
        }

        var slope = sxx == 0 ? 0 : sxy / sxx;
        var origin = DateTimeOffset.FromUnixTimeMilliseconds(first);
        return new LinearTrend(origin, meanY - (slope * meanX), slope, n, span);
    }
}
