namespace Roadmap.Worker.Reporting;

/// <summary>
/// The roadmap table as people and programs read it: the config's initiatives with their latest judgement. One model
/// behind the board (<c>/</c>), the <c>report</c> verb and the API (<c>/api/roadmap</c>), so all three say the same.
/// Built only by <see cref="RoadmapViewBuilder"/>. Property order is the JSON order: keep it stable.
/// </summary>
/// <param name="EvaluatedAt">When the KPIs were judged; null when they have not been yet.</param>
/// <param name="Config">The config file in force and how its last reload ended; null for a report, which reloads nothing.</param>
public sealed record RoadmapView(
    string Name,
    string? Vision,
    IReadOnlyList<GoalView> Goals,
    DateTimeOffset? EvaluatedAt,
    IReadOnlyList<InitiativeView> Initiatives,
    ConfigStatusView? Config = null)
{
    public InitiativeView? FindInitiative(string id) => Initiatives.FirstOrDefault(i => i.Id == id);
}

public sealed record GoalView(string Id, string Title);

/// <summary>When an initiative runs, both days inclusive.</summary>
/// <param name="Label">As written in the config: "2027-Q1", or "2027-01-01..2027-03-31".</param>
public sealed record TimelineView(string Label, DateOnly Start, DateOnly Due);

public sealed record RiskView(string Risk, string? Mitigation);

/// <param name="Goal">The id of the roadmap goal it serves.</param>
/// <param name="DeclaredStatus">As the owner declared it: planned, in-progress, done, cancelled.</param>
/// <param name="Health">planned, no_data, achieved, on_track, at_risk, missed, done, cancelled; null when not evaluated yet.</param>
/// <param name="BlockedBy">The ids of the dependencies that are not done, while it is in progress.</param>
public sealed record InitiativeView(
    string Id,
    string Name,
    string? Goal,
    TimelineView? Timeline,
    string DeclaredStatus,
    string? Owner,
    string? Details,
    IReadOnlyList<string> DependsOn,
    IReadOnlyList<RiskView> Risks,
    string? Health,
    bool Blocked,
    IReadOnlyList<string> BlockedBy,
    IReadOnlyList<KpiView> Kpis)
{
    public KpiView? FindKpi(string id) => Kpis.FirstOrDefault(k => k.Id == id);
}

/// <summary>A KPI: what is measured, what it must reach, and its latest judgement.</summary>
/// <param name="Signal">The aggregated signal; for the ratio aggregate, the numerator.</param>
/// <param name="Window">As written: "30d", or a calendar period ("quarter").</param>
/// <param name="Target">As written: "&gt;= 99.9%", "&lt;= baseline - 20%".</param>
/// <param name="TargetValue">The absolute threshold (percent as a fraction, baseline applied); null while a relative target has no baseline value.</param>
/// <param name="Value">The aggregate over the window; null without data or before the first evaluation.</param>
/// <param name="Met">Null before the first evaluation.</param>
/// <param name="Status">no_data, met, on_track, at_risk, missed; null before the first evaluation.</param>
/// <param name="Note">Why the status is what it is, in words.</param>
/// <param name="Deadline">The instant the target must be reached by: the end of the deadline day (in settings.timezone),
/// so a 2027-03-31 deadline in UTC is 2027-04-01T00:00:00Z. Null: it must hold always.</param>
/// <param name="Forecast">The trend's value at the deadline, bounded to what the value can be; null without a deadline or
/// with too little history.</param>
/// <param name="ErrorBudgetRemaining">Budget KPIs only (the avg of up, or a ratio, held to >= a target between 0 and 1):
/// the share of the whole window's error budget left; 1 untouched, 0 spent, below 0 overspent.</param>
/// <param name="Baseline">The baseline a relative target is measured against; null otherwise or while unknown.</param>
/// <param name="Coverage">The share of the window observed so far, 0..1; null before the first evaluation.</param>
/// <param name="ObservedSeconds">How much of the window was observed, in seconds; null before the first evaluation.</param>
/// <param name="ForecastLower">The forecast's 80% prediction interval, lower end; null without a forecast.</param>
/// <param name="ForecastUpper">The forecast's 80% prediction interval, upper end; null without a forecast.</param>
/// <param name="ForecastProbability">The probability of meeting the target at the deadline, 0..1; null without a forecast.</param>
/// <param name="DeadlineDate">The deadline as written: its last day, "2027-03-31"; null without a deadline.</param>
/// <param name="Reason">Why the KPI is not met; null when it is met or not evaluated yet.</param>
public sealed record KpiView(
    string Id,
    string Name,
    string? Unit,
    string Source,
    string Signal,
    string Aggregate,
    string Window,
    string Target,
    double? TargetValue,
    double? Value,
    bool? Met,
    string? Status,
    string? Note,
    DateTimeOffset? Deadline,
    double? Forecast,
    double? ErrorBudgetRemaining,
    double? Baseline,
    double? Coverage,
    double? ObservedSeconds,
    double? ForecastLower,
    double? ForecastUpper,
    double? ForecastProbability,
    DateOnly? DeadlineDate,
    KpiReasonView? Reason = null);
