namespace Roadmap.Core.Evaluation;

/// <summary>The judgement of a KPI; docs/KPI.md (Status) has the rules.</summary>
public enum KpiStatus
{
    NoData,
    Met,
    OnTrack,
    AtRisk,
    Missed,
}

public static class KpiStatuses
{
    public static readonly IReadOnlyList<KpiStatus> All = Enum.GetValues<KpiStatus>();

    /// <summary>The label value used in metrics, the API and reports: no_data, met, on_track, at_risk, missed.</summary>
    public static string Label(this KpiStatus status) => status switch
    {
        KpiStatus.NoData => "no_data",
        KpiStatus.Met => "met",
        KpiStatus.OnTrack => "on_track",
        KpiStatus.AtRisk => "at_risk",
        _ => "missed",
    };
}
