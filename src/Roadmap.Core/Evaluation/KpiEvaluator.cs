using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>The samples a KPI judgement needs, read by the caller for <see cref="KpiEvaluator.WindowOf"/>, as summaries
/// so a long window can be answered from rollups.</summary>
/// <param name="Points">The aggregated signal (the numerator for ratio).</param>
/// <param name="Denominator">For ratio: every sample of the denominator signals; else empty.</param>
public sealed record KpiSamples(SeriesSummary Points, SeriesSummary Denominator)
{
    /// <summary>The source's poll interval: a sample stands for the interval before it, so the window is observed
    /// from one interval before its first sample (<see cref="WindowCoverage"/>). Zero (the default) when unknown.</summary>
    public TimeSpan SourceInterval { get; init; }

    /// <summary>For a budget KPI, the samples of each of <see cref="ErrorBudget.BurnWindows"/> that the caller read,
    /// keyed by the window's label; the burn rates are computed from them. Empty (the default): no burn rates.</summary>
    public IReadOnlyDictionary<string, KpiSamples> BurnWindows { get; init; } = new Dictionary<string, KpiSamples>();

    /// <summary>Samples given as raw points, oldest first (the denominator may be several signals one after another).</summary>
    public KpiSamples(IReadOnlyList<Point> points, IReadOnlyList<Point> denominator)
        : this(SeriesSummary.FromPoints(points), SeriesSummary.FromPoints(denominator))
    {
    }
}

/// <summary>One judgement of one KPI at one instant.</summary>
/// <param name="Value">The aggregate over the window; null when there is no usable sample.</param>
/// <param name="Target">The absolute threshold (baseline applied); null while a relative target has no baseline value.</param>
/// <param name="Deadline">The instant the goal must be reached by (end of the deadline day); null for objectives.</param>
/// <param name="Note">Why the status is what it is, in words, for the board and the API.</param>
/// <param name="Forecast">The trend's value at the deadline, bounded to what the value can be (<see cref="ValueBounds"/>);
/// null without a deadline still ahead or with too little history.</param>
/// <param name="ErrorBudgetRemaining">For budget KPIs, the share of the whole window's error budget left (see
/// <see cref="ErrorBudget"/>); else null.</param>
/// <param name="Baseline">The baseline's value when the target is relative; else null.</param>
/// <param name="Coverage">The share of the window observed, 0..1 (<see cref="WindowCoverage"/>).</param>
/// <param name="WindowLength">The whole window's length (a calendar window's whole period).</param>
/// <param name="BurnRates">For budget KPIs: the burn rate over each window of <see cref="ErrorBudget.BurnWindows"/>
/// that had samples read for it; else empty.</param>
/// <param name="ForecastLower">The 80% prediction interval's lower end at the deadline; null without a forecast.</param>
/// <param name="ForecastUpper">The 80% prediction interval's upper end at the deadline; null without a forecast.</param>
/// <param name="ForecastProbability">The probability of meeting the target at the deadline, 0..1; null without a
/// forecast or while the target is unknown.</param>
public sealed record KpiEvaluation(
    string Initiative,
    string Kpi,
    DateTimeOffset At,
    double? Value,
    double? Target,
    bool Met,
    KpiStatus Status,
    DateTimeOffset? Deadline,
    int Samples,
    string Note,
    double? Forecast = null,
    double? ErrorBudgetRemaining = null,
    double? Baseline = null,
    double Coverage = 1,
    TimeSpan WindowLength = default,
    IReadOnlyList<BurnRate>? BurnRates = null,
    double? ForecastLower = null,
    double? ForecastUpper = null,
    double? ForecastProbability = null)
{
    /// <summary>How much of the window was observed: <see cref="Coverage"/> × <see cref="WindowLength"/>.</summary>
    public TimeSpan Observed => WindowLength * Coverage;

    /// <summary>Why the KPI is not met (<see cref="KpiReasons.Of"/>); null when it is met. Default null.</summary>
    public KpiReason? Reason { get; init; }
}

/// <summary>
/// Judges a KPI against its target and deadline; a budget KPI by its error budget over the whole window. Pure: the
/// caller supplies the clock and the samples (and, for burn rates, the short windows' samples). See docs/KPI.md.
/// </summary>
public static class KpiEvaluator
{
    /// <summary>The time range whose samples the KPI aggregates at <paramref name="now"/>: [from, now].</summary>
    public static (DateTimeOffset From, DateTimeOffset To) WindowOf(KpiConfig kpi, DateTimeOffset now, TimeZoneInfo zone) =>
        (kpi.Window.StartAt(now, zone), now);

    /// <param name="baseline">The baseline's value when the target is relative and its baseline is a period (a number
    /// baseline is read from the config); else ignored.</param>
    /// <param name="trend">The Theil–Sen trend of the KPI's evaluation history (<see cref="Forecast.Fit"/>); null: too
    /// little history.</param>
    /// <param name="source">What the poll path stored about the KPI's source, for the reason of a KPI not met
    /// (<see cref="KpiEvaluation.Reason"/>); null when its source never polled.</param>
    public static KpiEvaluation Evaluate(
        string initiative,
        KpiConfig kpi,
        KpiSamples samples,
        DateTimeOffset now,
        TimeZoneInfo zone,
        double? baseline = null,
        LinearTrend? trend = null,
        SourceState? source = null)
    {
        ArgumentNullException.ThrowIfNull(kpi);
        ArgumentNullException.ThrowIfNull(samples);
        var value = Aggregates.Compute(kpi.Aggregate, samples.Points, samples.Denominator);
        var baselineValue = kpi.Target.IsRelative ? kpi.Baseline?.Value ?? baseline : null;
        var threshold = kpi.Target.Resolve(baselineValue);
        double? target = double.IsNaN(threshold) ? null : threshold;
        DateTimeOffset? deadline = kpi.Deadline is { } d ? Dates.EndOfDay(d, zone) : null;
        var windowLength = WindowCoverage.LengthOf(kpi.Window, now, zone);
        var (windowStart, _) = WindowOf(kpi, now, zone);
        var coverage = WindowCoverage.Of(windowStart, windowLength, now, WindowCoverage.FirstSample(samples), samples.SourceInterval);

        // A forecast is for a deadline still ahead; after it, the value itself is the verdict.
        var bounds = ValueBounds.Of(kpi);
        ForecastResult? projected = null;
        if (deadline is { } due && now < due && trend is not null)
        {
            projected = target is { } tt
                ? Forecast.Project(trend, due, kpi.Target.Op, tt, bounds)
                : Forecast.Project(trend, due, kpi.Target.Op, double.NaN, bounds) with { Probability = double.NaN };
        }

        double? probability = projected is { Probability: var pr } && !double.IsNaN(pr) ? pr : null;
        var budget = ErrorBudget.Applies(kpi) ? ErrorBudget.Remaining(kpi.Target.Op, value, target, coverage) : null;
        var burns = budget is not null && target is { } bt ? BurnRates(kpi.Aggregate, samples, bt, now) : [];

        // The usable (non-NaN) samples, as the summary counts them.
        var count = (int)Math.Min(samples.Points.Count, int.MaxValue);
        KpiEvaluation Result(double? v, bool met, KpiStatus status, string note)
        {
            var e = new KpiEvaluation(initiative, kpi.Id, now, v, target, met, status, deadline, count, note, projected?.Value, budget, baselineValue,
                coverage, windowLength, burns, projected?.Lower, projected?.Upper, probability);
            return e with { Reason = KpiReasons.Of(e, kpi.Target.Op, source) };
        }

        if (value is not { } v || double.IsNaN(v))
        {
            var span = kpi.Window.Rolling is not null ? $"in the last {kpi.Window}" : $"so far this {kpi.Window}";
            return Result(null, false, KpiStatus.NoData, count == 0
                ? $"no sample of {kpi.Signal} {span}"
                : $"the {count} sample(s) of {kpi.Signal} {span} give no {kpi.Aggregate.Name()} value");
        }

        if (target is not { } t)
        {
            return Result(v, false, KpiStatus.NoData, "the baseline has no value yet, so the target is unknown");
        }

        var satisfied = Target.Satisfies(kpi.Target.Op, v, t);
        if (budget is { } left)
        {
            // A budget KPI is judged over its whole window: a few bad minutes in a young window spend only their
            // share of the budget, and the objective can still hold until the budget is spent.
            var observed = coverage < 1 ? $"; {WindowCoverage.Describe(windowLength * coverage)} of the window observed" : "";
            if (left <= 0)
            {
                return Result(v, satisfied, KpiStatus.Missed, $"the {kpi.Window} error budget is spent ({Percent(left)} left){observed}");
            }

            if (deadline is { } passed && now >= passed && !satisfied)
            {
                return Result(v, false, KpiStatus.Missed, $"target not met by the deadline {kpi.Deadline:yyyy-MM-dd}");
            }

            return Result(v, satisfied, KpiStatus.Met, $"{Percent(left)} of the {kpi.Window} error budget left{observed}");
        }

        if (satisfied)
        {
            return Result(v, true, KpiStatus.Met, "target met");
        }

        if (deadline is null)
        {
            return Result(v, false, KpiStatus.Missed, "target not met, and it must hold at all times");
        }

        if (now >= deadline)
        {
            return Result(v, false, KpiStatus.Missed, $"target not met by the deadline {kpi.Deadline:yyyy-MM-dd}");
        }

        if (projected is not { } f || probability is not { } p)
        {
            return Result(v, false, KpiStatus.AtRisk, $"target not met, and too little history to forecast it by {kpi.Deadline:yyyy-MM-dd}");
        }

        var band = f.Lower < f.Upper ? $" (80%: {f.Lower:G4} to {f.Upper:G4})" : "";
        return p >= Forecast.OnTrackProbability
            ? Result(v, false, KpiStatus.OnTrack, $"target not met yet; the trend reaches {f.Value:G4}{band} by {kpi.Deadline:yyyy-MM-dd}, {Percent(p, 0)} likely to meet it")
            : Result(v, false, KpiStatus.AtRisk, $"target not met; the trend gives {f.Value:G4}{band} by {kpi.Deadline:yyyy-MM-dd}, {Percent(p, 0)} likely to meet it");
    }

    /// <summary>A ratio as a percentage for a note, invariant: 0.99614 → "99.6%".</summary>
    private static string Percent(double ratio, int decimals = 1) =>
        (ratio * 100).ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>The burn rate over each short window the caller read samples for.</summary>
    private static List<BurnRate> BurnRates(Aggregate aggregate, KpiSamples samples, double target, DateTimeOffset now)
    {
        var rates = new List<BurnRate>();
        foreach (var (label, window) in ErrorBudget.BurnWindows)
        {
            if (!samples.BurnWindows.TryGetValue(label, out var shortWindow))
            {
                continue;
            }

            // The KPI's aggregate (avg or ratio) over the short window, and how much of it was observed. A window
            // without a sample observed nothing, so it burned nothing.
            var value = Aggregates.Compute(aggregate, shortWindow.Points, shortWindow.Denominator);
            var coverage = WindowCoverage.Of(now - window, window, now, WindowCoverage.FirstSample(shortWindow), samples.SourceInterval);
            rates.Add(new BurnRate(label, window, ErrorBudget.Burn(value, target, coverage) ?? 0));
        }

        return rates;
    }
}
