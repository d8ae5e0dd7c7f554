using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>One burn rate: how fast a budget KPI spent its error budget over the last <see cref="Window"/>.</summary>
/// <param name="Label">The window as the metric's <c>window</c> label writes it: 5m, 30m, 1h, 2h, 6h, 1d, 3d.</param>
/// <param name="Rate">(1 − value over the window) × the window's coverage ÷ (1 − target): 1 spends the budget exactly
/// over the KPI's window, 14.4 spends a 30-day budget's 2% in an hour.</param>
public sealed record BurnRate(string Label, TimeSpan Window, double Rate);

/// <summary>
/// Error budgets over the whole window, as the SRE Workbook, Sloth and Pyrra define them: the budget is (1 − target)
/// of the <b>whole</b> window, and only the bad time (or bad events) actually observed spends it.
/// </summary>
public static class ErrorBudget
{
    /// <summary>The windows burn rates are computed for: those of the Workbook's multi-window, multi-burn-rate alerts
    /// (page: 1h with 5m, 6h with 30m; ticket: 1d with 2h, 3d with 6h).</summary>
    public static readonly IReadOnlyList<(string Label, TimeSpan Window)> BurnWindows =
    [
        ("5m", TimeSpan.FromMinutes(5)),
        ("30m", TimeSpan.FromMinutes(30)),
        ("1h", TimeSpan.FromHours(1)),
        ("2h", TimeSpan.FromHours(2)),
        ("6h", TimeSpan.FromHours(6)),
        ("1d", TimeSpan.FromDays(1)),
        ("3d", TimeSpan.FromDays(3)),
    ];

    /// <summary>The 0/1 signal whose average is the share of good time: an http probe's <c>up</c>.</summary>
    public const string UpSignal = "up";

    /// <summary>
    /// Whether a KPI is a budget KPI: its value is a share of good time or good events (the <c>avg</c> of the 0/1
    /// signal <c>up</c>, or a <c>ratio</c>) held to a <c>&gt;=</c> or <c>&gt;</c> target. The average of a gauge
    /// (a hit ratio polled every minute) or a <c>last</c> or percentile of a ratio says nothing about how much of the
    /// window was bad, so they have none. The target and value ranges are checked by <see cref="Remaining"/>.
    /// </summary>
    public static bool Applies(KpiConfig kpi)
    {
        ArgumentNullException.ThrowIfNull(kpi);
        return kpi.Target.Op is Comparison.GreaterOrEqual or Comparison.Greater
            && (kpi.Aggregate == Aggregate.Ratio || (kpi.Aggregate == Aggregate.Avg && kpi.Signal == UpSignal));
    }

    /// <summary>
    /// remaining = 1 − (1 − value) × coverage ÷ (1 − target): the share of the whole window's budget not yet spent.
    /// For an <c>up</c> signal, (1 − value) × coverage × W is the bad time observed and (1 − target) × W the budget;
    /// for a ratio, the bad events over the events the whole window is expected to hold. 1 is untouched, 0 spent,
    /// below 0 overspent. Null unless the target is strictly between 0 and 1 and the value between 0 and 1.
    /// </summary>
    /// <param name="coverage">The share of the window observed (<see cref="WindowCoverage"/>), 0..1; 1 for a full window.</param>
    public static double? Remaining(Comparison op, double? value, double? target, double coverage = 1)
    {
        if (op is not (Comparison.GreaterOrEqual or Comparison.Greater) || value is not { } v || target is not { } t
            || t is <= 0 or >= 1 || v is < 0 or > 1)
        {
            return null;
        }

        return 1 - ((1 - v) * Math.Clamp(coverage, 0, 1) / (1 - t));
    }

    /// <summary>
    /// The burn rate over a short window: (1 − value over it) × its coverage ÷ (1 − target). The coverage keeps the
    /// unobserved part of a young install from counting as bad. Null without a value.
    /// </summary>
    public static double? Burn(double? value, double target, double coverage) =>
        value is { } v && double.IsFinite(v) ? Math.Max(0, 1 - Math.Clamp(v, 0, 1)) * Math.Clamp(coverage, 0, 1) / (1 - target) : null;
}
