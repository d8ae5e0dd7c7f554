using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>An initiative's health, from its declared status, its timeline and its KPIs' statuses.</summary>
public enum Health
{
    Planned,
    NoData,
    Achieved,
    OnTrack,
    AtRisk,
    Missed,
    Done,
    Cancelled,
}

/// <summary>The judgement of one initiative at one instant.</summary>
/// <param name="Blocked">In progress while a dependency is not done.</param>
/// <param name="BlockedBy">The dependencies that are not done (empty when not blocked).</param>
public sealed record InitiativeEvaluation(string Initiative, Health Health, bool Blocked, IReadOnlyList<string> BlockedBy, int Kpis, int KpisMet);

public static class InitiativeHealth
{
    public static readonly IReadOnlyList<Health> All = Enum.GetValues<Health>();

    /// <summary>The label value: planned, no_data, achieved, on_track, at_risk, missed, done, cancelled.</summary>
    public static string Label(this Health health) => health switch
    {
        Health.Planned => "planned",
        Health.NoData => "no_data",
        Health.Achieved => "achieved",
        Health.OnTrack => "on_track",
        Health.AtRisk => "at_risk",
        Health.Missed => "missed",
        Health.Done => "done",
        _ => "cancelled",
    };

    /// <summary>
    /// done / cancelled when declared; planned before its start; else the worst KPI status
    /// (missed &gt; at_risk &gt; no_data &gt; on_track &gt; met), achieved when every KPI is met. Blocked is separate:
    /// declared in progress while a dependency is not declared done.
    /// </summary>
    public static InitiativeEvaluation Evaluate(RoadmapConfig config, InitiativeConfig initiative, IReadOnlyList<KpiEvaluation> kpis, DateTimeOffset now)
    {
        var blockedBy = initiative.Status == DeclaredStatus.InProgress
            ? initiative.DependsOn.Where(d => config.FindInitiative(d)?.Status != DeclaredStatus.Done).ToList()
            : [];
        var met = kpis.Count(k => k.Status == KpiStatus.Met);
        var health = initiative.Status switch
        {
            DeclaredStatus.Done => Health.Done,
            DeclaredStatus.Cancelled => Health.Cancelled,
            _ when initiative.Timeline is { } t && now < Dates.StartOfDay(t.Start, config.Settings.TimeZone) => Health.Planned,
            _ when kpis.Count == 0 => Health.NoData,
            _ when kpis.Any(k => k.Status == KpiStatus.Missed) => Health.Missed,
            _ when kpis.Any(k => k.Status == KpiStatus.AtRisk) => Health.AtRisk,
            _ when kpis.Any(k => k.Status == KpiStatus.NoData) => Health.NoData,
            _ when kpis.Any(k => k.Status == KpiStatus.OnTrack) => Health.OnTrack,
            _ => Health.Achieved,
        };
        return new InitiativeEvaluation(initiative.Id, health, blockedBy.Count > 0, blockedBy, kpis.Count, met);
    }
}
