namespace Roadmap.Core.Config;

/// <summary>
/// What a KPI's value can be: the one rule behind two judgements, so they never disagree. A forecast is bounded by it
/// (never a negative latency or 104% uptime), and <c>validate</c> refuses a target outside it
/// (<see cref="TargetRange"/>: <c>">= 99.9"</c> on uptime is a missing %).
/// </summary>
public readonly record struct ValueBounds(double Min, double Max)
{
    public static readonly ValueBounds None = new(double.NegativeInfinity, double.PositiveInfinity);

    public static readonly ValueBounds UnitInterval = new(0, 1);

    public static readonly ValueBounds Percent = new(0, 100);

    public static readonly ValueBounds NonNegative = new(0, double.PositiveInfinity);

    private static readonly string[] NonNegativeUnits = ["seconds", "count", "bytes", "requests"];

    // Prometheus' naming: durations, sizes and counters; and the counters Roadmap's own kinds emit.
    private static readonly string[] NonNegativeSuffixes = ["_seconds", "_bytes", "_total", "_count"];

    private static readonly string[] NonNegativeSignals = ["count", "hits", "misses"];

    public double Clamp(double value) => Math.Clamp(value, Min, Max);

    /// <summary>Whether <paramref name="value"/> lies within the bounds (edges included).</summary>
    public bool Contains(double value) => value >= Min && value <= Max;

    /// <summary>The bounds of <paramref name="kpi"/>'s value: <see cref="Of(Aggregate, string, string?)"/>.</summary>
    public static ValueBounds Of(KpiConfig kpi)
    {
        ArgumentNullException.ThrowIfNull(kpi);
        return Of(kpi.Aggregate, kpi.Signal, kpi.Unit);
    }

    /// <summary>
    /// The rule, first match wins: a <c>ratio</c>, or a KPI with <c>unit: ratio</c>, or an average, minimum, maximum,
    /// last value or percentile of the <c>up</c> signal or of a signal whose name ends in <c>_ratio</c>: 0..1.
    /// <c>unit: percent</c>: 0..100. A <c>count</c>, <c>increase</c> or <c>rate</c>, a KPI with unit seconds, count,
    /// bytes or requests, a <c>count</c>, <c>hits</c> or <c>misses</c> signal, or one whose name ends in
    /// <c>_seconds</c>, <c>_bytes</c>, <c>_total</c> or <c>_count</c> (Prometheus' naming of durations, sizes and
    /// counters): 0 and up. Anything else (a <c>sum</c> or average of an arbitrary gauge): unbounded.
    /// </summary>
    public static ValueBounds Of(Aggregate aggregate, string signal, string? unit)
    {
        ArgumentNullException.ThrowIfNull(signal);
        var u = unit?.Trim().ToLowerInvariant();
        var pointwise = aggregate is not (Aggregate.Sum or Aggregate.Count or Aggregate.Increase or Aggregate.Rate);
        if (aggregate == Aggregate.Ratio || u == "ratio"
            || (pointwise && (signal == "up" || signal.EndsWith("_ratio", StringComparison.Ordinal))))
        {
            return UnitInterval;
        }

        if (u == "percent")
        {
            return Percent;
        }

        if (aggregate is Aggregate.Count or Aggregate.Increase or Aggregate.Rate
            || (u is not null && NonNegativeUnits.Contains(u))
            || NonNegativeSignals.Contains(signal)
            || NonNegativeSuffixes.Any(s => signal.EndsWith(s, StringComparison.Ordinal)))
        {
            return NonNegative;
        }

        return None;
    }
}
