using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>The samples a KPI judgement needs, read by the caller for <see cref="KpiEvaluator.WindowOf"/>.</summary>
public sealed record KpiSamples(IReadOnlyList<Point> Points, IReadOnlyList<Point> Denominator);

/// <summary>One judgement of one KPI at one instant.</summary>
/// <param name="Value">The aggregate over the window; null when there is no usable sample.</param>
/// <param name="Target">The absolute threshold (baseline applied); null while a relative target has no baseline value.</param>
/// <param name="Deadline">The instant the goal must be reached by (end of the deadline day); null for objectives.</param>
/// <param name="Note">Why the status is what it is, in words, for the board and the API.</param>
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
    string Note);

/// <summary>Judges a KPI against its target and deadline. Pure: the caller supplies the clock and the samples.</summary>
public static class KpiEvaluator
{
    /// <summary>The time range whose samples the KPI aggregates at <paramref name="now"/>: [from, now].</summary>
    public static (DateTimeOffset From, DateTimeOffset To) WindowOf(KpiConfig kpi, DateTimeOffset now, TimeZoneInfo zone) =>
        (kpi.Window.StartAt(now, zone), now);

    /// <param name="baseline">The baseline's value when the target is relative (a number, or the period's aggregate); else ignored.</param>
    public static KpiEvaluation Evaluate(
        string initiative,
        KpiConfig kpi,
        KpiSamples samples,
        DateTimeOffset now,
        TimeZoneInfo zone,
        double? baseline = null)
    {
        var value = Aggregates.Compute(kpi.Aggregate, samples.Points, samples.Denominator);
        var threshold = kpi.Target.Resolve(kpi.Baseline?.Value ?? baseline);
        double? target = double.IsNaN(threshold) ? null : threshold;
        DateTimeOffset? deadline = kpi.Deadline is { } d ? Dates.EndOfDay(d, zone) : null;
        var count = samples.Points.Count;

        if (value is not { } v || double.IsNaN(v))
        {
            return new(initiative, kpi.Id, now, null, target, false, KpiStatus.NoData, deadline, count, $"no sample of {kpi.Signal} in the last {kpi.Window}");
        }

        if (target is not { } t)
        {
            return new(initiative, kpi.Id, now, v, null, false, KpiStatus.NoData, deadline, count, "the baseline has no value yet, so the target is unknown");
        }

        if (Target.Satisfies(kpi.Target.Op, v, t))
        {
            return new(initiative, kpi.Id, now, v, t, true, KpiStatus.Met, deadline, count, "target met");
        }

        if (deadline is null)
        {
            return new(initiative, kpi.Id, now, v, t, false, KpiStatus.Missed, null, count, "target not met, and it must hold at all times");
        }

        if (now >= deadline)
        {
            return new(initiative, kpi.Id, now, v, t, false, KpiStatus.Missed, deadline, count, $"target not met by the deadline {kpi.Deadline:yyyy-MM-dd}");
        }

        // Without a forecast the trend is unknown, and an unknown trend is a risk (DESIGN: too little history).
        return new(initiative, kpi.Id, now, v, t, false, KpiStatus.AtRisk, deadline, count, $"target not met yet; deadline {kpi.Deadline:yyyy-MM-dd}");
    }
}
