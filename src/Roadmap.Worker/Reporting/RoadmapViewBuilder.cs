using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Worker.Evaluation;

namespace Roadmap.Worker.Reporting;

/// <summary>Joins the config (what the roadmap says) with a snapshot (what was measured) into the table. Pure.</summary>
public static class RoadmapViewBuilder
{
    /// <summary>What the board and the reports say for a KPI or initiative before the first evaluation.</summary>
    public const string NotEvaluated = "not evaluated yet";

    /// <param name="snapshot">The latest judgement; <see cref="RoadmapSnapshot.Empty"/> (or one missing a KPI) leaves
    /// that KPI's value, status and met null.</param>
    public static RoadmapView Build(RoadmapConfig config, RoadmapSnapshot snapshot)
    {
        var zone = config.Settings.TimeZone;
        var kpis = snapshot.Kpis.ToDictionary(k => (k.Initiative, k.Kpi));
        var initiatives = snapshot.Initiatives.ToDictionary(i => i.Initiative);
        var evaluated = snapshot.At != DateTimeOffset.MinValue;
        return new RoadmapView(
            config.Roadmap.Name,
            config.Roadmap.Vision,
            config.Roadmap.Goals.Select(g => new GoalView(g.Id, g.Title)).ToList(),
            evaluated ? snapshot.At.ToUniversalTime() : null,
            config.Initiatives.Select(i =>
            {
                var judged = initiatives.GetValueOrDefault(i.Id);
                return new InitiativeView(
                    i.Id,
                    i.Name,
                    i.Goal,
                    i.Timeline is { } t ? new TimelineView(t.Label, t.Start, t.Due) : null,
                    i.Status.Label(),
                    i.Owner,
                    i.Details,
                    i.DependsOn.ToList(),
                    i.Risks.Select(r => new RiskView(r.Risk, r.Mitigation)).ToList(),
                    judged?.Health.Label(),
                    judged?.Blocked ?? false,
                    judged?.BlockedBy.ToList() ?? [],
                    i.Kpis.Select(k => Kpi(k, kpis.GetValueOrDefault((i.Id, k.Id)), zone)).ToList());
            }).ToList());
    }

    /// <summary>As the config writes it: planned, in-progress, done, cancelled.</summary>

    private static KpiView Kpi(KpiConfig k, KpiEvaluation? e, TimeZoneInfo zone)
    {
        var baseline = k.Target.IsRelative ? Finite(e?.Baseline ?? k.Baseline?.Value) : null;
        var target = e is not null ? Finite(e.Target) : Finite(k.Target.IsRelative ? k.Target.Resolve(baseline) : k.Target.Value);
        return new KpiView(
            k.Id,
            k.Name,
            k.Unit,
            k.Source,
            k.Signal,
            k.Aggregate.Name(),
            k.Window.ToString(),
            k.Target.Text,
            target,
            Finite(e?.Value),
            e?.Met,
            e?.Status.Label(),
            e?.Note ?? NotEvaluated,
            k.Deadline is { } d ? Dates.EndOfDay(d, zone).ToUniversalTime() : null,
            Finite(e?.Forecast),
            Finite(e?.ErrorBudgetRemaining),
            baseline,
            Finite(e?.Coverage),
            e is null ? null : Finite(e.Observed.TotalSeconds),
            Finite(e?.ForecastLower),
            Finite(e?.ForecastUpper),
            Finite(e?.ForecastProbability),
            k.Deadline,
            KpiReasonText.Of(k, e));
    }

    // JSON has no NaN or infinity, and neither has a reader of the board: an unknown number is null.
    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}
