using System.Globalization;

namespace Roadmap.Worker.Reporting;

/// <summary>The words and numbers the board and the reports share, so a KPI reads the same in each.</summary>
internal static class ReportText
{
    public const string Missing = "—";
    public const string None = "none";

    /// <summary>A status or health label in words: "at_risk" is "at risk"; null is "not evaluated yet".</summary>
    public static string Words(string? label) => label is null ? RoadmapViewBuilder.NotEvaluated : label.Replace('_', ' ');

    /// <summary>A value in the KPI's unit: ratio as percent, seconds with "s", others with their unit.</summary>
    public static string Number(double? value, string? unit)
    {
        if (value is not { } v)
        {
            return "no value";
        }

        return unit switch
        {
            "ratio" => Percent(v * 100),
            "percent" => Percent(v),
            "seconds" => $"{General(v)} s",
            "count" or null or "" => General(v),
            _ => $"{General(v)} {unit}",
        };
    }

    /// <summary>The target as written, with its absolute value when it is relative to a baseline.</summary>
    public static string Target(KpiView kpi) =>
        kpi.Baseline is not null && kpi.TargetValue is { } t ? $"{kpi.Target} (= {Number(t, kpi.Unit)})" : kpi.Target;

    /// <summary>"2026-Q4 (2026-10-01 to 2026-12-31)", or "2027-01-01 to 2027-03-31" for a range.</summary>
    public static string Timeline(TimelineView? timeline)
    {
        if (timeline is null)
        {
            return "not set";
        }

        var range = $"{Date(timeline.Start)} to {Date(timeline.Due)}";
        return timeline.Label == $"{Date(timeline.Start)}..{Date(timeline.Due)}" ? range : $"{timeline.Label} ({range})";
    }

    /// <summary>"System uptime: 99.95% vs >= 99.9%, met", with " by DATE" for a goal with a deadline,
    /// " (30d window, 15 min observed)" while the window is not yet fully observed, and " — why: ..." when not met.</summary>
    public static string KpiLine(KpiView kpi) =>
        $"{kpi.Name}: {Number(kpi.Value, kpi.Unit)} vs {Target(kpi)}{By(kpi)}, {Words(kpi.Status)}{(Observed(kpi) is { } o ? $" ({o})" : "")}" +
        (kpi.Reason is { } why ? $" — why: {why.Text}" : "");

    /// <summary>"30d window, 15 min observed" while less than the whole window has been observed; else null.</summary>
    public static string? Observed(KpiView kpi) =>
        kpi is { Coverage: < 1, ObservedSeconds: { } seconds }
            ? $"{kpi.Window} window, {Roadmap.Core.Evaluation.WindowCoverage.Describe(TimeSpan.FromSeconds(seconds))} observed"
            : null;

    public static string By(KpiView kpi) => kpi.DeadlineDate is { } d ? $" by {Date(d)}" : "";

    /// <summary>"in progress", as the owner declared it.</summary>
    public static string Declared(InitiativeView initiative) => initiative.DeclaredStatus.Replace('-', ' ');

    /// <summary>The names of the initiatives with these ids (the id itself when unknown).</summary>
    public static IReadOnlyList<string> Names(RoadmapView view, IEnumerable<string> ids) =>
        ids.Select(id => view.FindInitiative(id)?.Name ?? id).ToList();

    public static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// ISO-8601 UTC to the millisecond (what the database keeps): "2026-11-26T12:00:00Z", or
    /// "2026-11-26T12:00:00.250Z" when there is a fraction.
    /// </summary>
    public static string Instant(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        var format = utc.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
        return utc.ToString(format, CultureInfo.InvariantCulture);
    }

    private static string Percent(double p) => p.ToString("0.###", CultureInfo.InvariantCulture) + "%";

    private static string General(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
