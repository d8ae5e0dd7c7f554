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

    /// <summary>Exact names only: Enum.TryParse would take "min, max" (flags) and "1" (numbers).</summary>
    public static bool TryParse(string text, out Aggregate aggregate)
    {
        var name = Enum.GetNames<Aggregate>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        aggregate = name is null ? default : Enum.Parse<Aggregate>(name);
        return name is not null;
    }
}
