namespace Roadmap.Worker.Reporting;

/// <summary>One stored evaluation of a KPI, as the history endpoint returns it.</summary>
/// <param name="Status">no_data, met, on_track, at_risk, missed.</param>
/// <param name="Rules">The rules the status was judged under: 2, the current ones; 1, a row stored before error budgets
/// over the whole window, when a budget KPI (uptime, a success ratio) was missed whenever its value was below target.</param>
public sealed record KpiHistoryPoint(DateTimeOffset At, double? Value, double? Target, string Status, int Rules);

/// <summary>The history endpoint's document: the range asked for and the evaluations in it, oldest first.</summary>
public sealed record KpiHistory(string Initiative, string Kpi, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<KpiHistoryPoint> Points);
