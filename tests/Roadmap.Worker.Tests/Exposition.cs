using System.Globalization;

namespace Roadmap.Worker.Tests;

/// <summary>Values read from a Prometheus text exposition, the way the tests assert on a scrape.</summary>
internal static class Exposition
{
    /// <summary>The value of <paramref name="series"/> (name and labels exactly as exported), or null when it is absent.</summary>
    public static double? Find(string text, string series) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal)) is { } line
            ? Parse(line, series)
            : null;

    /// <summary>The value of <paramref name="series"/>, which must be exported exactly once.</summary>
    public static double Value(string text, string series) =>
        Parse(Assert.Single(text.Split('\n'), l => l.StartsWith(series + " ", StringComparison.Ordinal)), series);

    private static double Parse(string line, string series) =>
        double.Parse(line[(series.Length + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
}
