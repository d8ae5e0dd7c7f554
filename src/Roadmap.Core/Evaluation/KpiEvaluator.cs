using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>The samples a KPI judgement needs, read by the caller for <see cref="KpiEvaluator.WindowOf"/>, as summaries
/// so a long window can be answered from rollups.</summary>
/// <param name="Points">The aggregated signal (the numerator for ratio).</param>
/// <param name="Denominator">For ratio: every sample of the denominator signals; else empty.</param>
public sealed record KpiSamples(SeriesSummary Points, SeriesSummary Denominator)
{
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
/// <param name="Forecast">The trend's value at the deadline; null without a deadline or with too little history.</param>
/// <param name="ErrorBudgetRemaining">For ratio objectives (see <see cref="ErrorBudget"/>); else null.</param>
/// <param name="Baseline">The baseline's value when the target is relative; else null.</param>
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
    double? Baseline = null);

/// <summary>Judges a KPI against its target and deadline. Pure: the caller supplies the clock and the samples.</summary>
public static class KpiEvaluator
{
    /// <summary>The time range whose samples the KPI aggregates at <paramref name="now"/>: [from, now].</summary>
    public static (DateTimeOffset From, DateTimeOffset To) WindowOf(KpiConfig kpi, DateTimeOffset now, TimeZoneInfo zone) =>
        (kpi.Window.StartAt(now, zone), now);

    /// <param name="baseline">The baseline's value when the target is relative and its baseline is a period (a number
    /// baseline is read from the config); else ignored.</param>
    /// <param name="trend">The least-squares trend of the KPI's evaluation history; null: too little history.</param>
    public static KpiEvaluation Evaluate(
        string initiative,
        KpiConfig kpi,
        KpiSamples samples,
        DateTimeOffset now,
        TimeZoneInfo zone,
        double? baseline = null,
        LinearTrend? trend = null)
    {
        var value = Aggregates.Compute(kpi.Aggregate, samples.Points, samples.Denominator);
        var baselineValue = kpi.Target.IsRelative ? kpi.Baseline?.Value ?? baseline : null;
        var threshold = kpi.Target.Resolve(baselineValue);
        double? target = double.IsNaN(threshold) ? null : threshold;
        DateTimeOffset? deadline = kpi.Deadline is { } d ? Dates.EndOfDay(d, zone) : null;
        // A forecast is for a deadline still ahead; after it, the value itself is the verdict.
        var forecast = deadline is { } due && now < due && trend is not null ? trend.At(due) : (double?)null;
        // The usable (non-NaN) samples, as the summary counts them.
        var count = (int)Math.Min(samples.Points.Count, int.MaxValue);
        KpiEvaluation Result(double? v, bool met, KpiStatus status, string note) =>
            new(initiative, kpi.Id, now, v, target, met, status, deadline, count, note, forecast, ErrorBudget.Remaining(kpi.Target.Op, v, target), baselineValue);

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

        if (Target.Satisfies(kpi.Target.Op, v, t))
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

        if (forecast is not { } f)
        {
            return Result(v, false, KpiStatus.AtRisk, $"target not met, and too little history to forecast it by {kpi.Deadline:yyyy-MM-dd}");
        }

        return Target.Satisfies(kpi.Target.Op, f, t)
            ? Result(v, false, KpiStatus.OnTrack, $"target not met yet; the trend reaches {f:G4} by {kpi.Deadline:yyyy-MM-dd}")
            : Result(v, false, KpiStatus.AtRisk, $"target not met; the trend gives {f:G4} by {kpi.Deadline:yyyy-MM-dd}");
    }
}
