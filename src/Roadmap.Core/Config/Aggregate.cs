namespace Roadmap.Core.Config;

/// <summary>How a window of samples becomes one value. See the KPI reference in the README.</summary>
public enum Aggregate
{
    Avg,
    Min,
    Max,
    Last,
    Sum,
    Count,
    P50,
    P90,
    P95,
    P99,
    Increase,
    Rate,
    Ratio,
}

public static class AggregateNames
{
    public static string Name(this Aggregate a) => a.ToString().ToLowerInvariant();

    public static string All => string.Join(", ", Enum.GetValues<Aggregate>().Select(Name));

    public static bool TryParse(string text, out Aggregate aggregate) =>
        Enum.TryParse(text.Trim(), ignoreCase: true, out aggregate) && !int.TryParse(text, out _);
}
