using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Updates;

/// <summary>A KPI whose status changed into one an update reports.</summary>
/// <param name="From">Its status before (met, at_risk, ...); null when it had none stored then.</param>
/// <param name="Line">"System uptime: 99.95% vs >= 99.9%, met", as the table says it.</param>
public sealed record KpiChange(string Initiative, string InitiativeName, string Kpi, string KpiName, string? From, string To, string Line);

/// <summary>An initiative newly blocked or unblocked.</summary>
/// <param name="BlockedBy">The names of the dependencies not done (empty when unblocked).</param>
public sealed record BlockChange(string Initiative, string Name, IReadOnlyList<string> BlockedBy);

/// <summary>A deadline ahead: a KPI's deadline not met yet, or an unfinished initiative's due date.</summary>
/// <param name="Kpi">The KPI's id; null for an initiative's due date.</param>
/// <param name="Status">The KPI's status, or the initiative's health; null before the first evaluation.</param>
public sealed record DeadlineAhead(DateOnly Date, string Initiative, string InitiativeName, string? Kpi, string Name, string? Status);

/// <summary>
/// What changed between two moments of the roadmap: KPIs newly met, newly at risk or newly missed, initiatives blocked
/// or unblocked, and the deadlines of the next <see cref="DeadlineHorizonDays"/> days. The "what changed" section of
/// every scheduled update and of <c>report --since</c>.
/// </summary>
/// <param name="Since">The earlier moment: the previous update that went out, or the date given to report.</param>
/// <param name="At">When the current table was judged.</param>
/// <param name="Blocked">Null when the blocked initiatives of <paramref name="Since"/> are not known (no update went out
/// by then): blocking changes are then not reported.</param>
/// <param name="Unblocked">Null when not known, as <paramref name="Blocked"/>.</param>
public sealed record WhatChanged(
    DateTimeOffset Since,
    DateTimeOffset At,
    IReadOnlyList<KpiChange> NewlyMet,
    IReadOnlyList<KpiChange> NewlyAtRisk,
    IReadOnlyList<KpiChange> NewlyMissed,
    IReadOnlyList<BlockChange>? Blocked,
    IReadOnlyList<BlockChange>? Unblocked,
    IReadOnlyList<DeadlineAhead> Deadlines)
{
    /// <summary>How far ahead deadlines are listed: 30 days, counted in <c>settings.timezone</c> from today.</summary>
    public const int DeadlineHorizonDays = 30;

    /// <summary>
    /// Compares <paramref name="now"/> with the state at <paramref name="since"/>: each KPI's stored status then
    /// (<paramref name="before"/>; rows judged under older rules are not compared, as the evaluation does not compare
    /// them) and the initiatives blocked then (<paramref name="blockedBefore"/>, null when unknown). Pure.
    /// </summary>
    public static WhatChanged Between(RoadmapView now, DateTimeOffset at, DateTimeOffset since, IReadOnlyList<StoredStatus> before, IReadOnlyCollection<string>? blockedBefore, TimeZoneInfo zone)
    {
        var previous = new Dictionary<(string, string), StoredStatus>();
        foreach (var row in before)
        {
            previous[(row.Initiative, row.Kpi)] = row;
        }

        List<KpiChange> met = [], atRisk = [], missed = [];
        foreach (var i in now.Initiatives)
        {
            foreach (var k in i.Kpis)
            {
                var was = previous.GetValueOrDefault((i.Id, k.Id));
                if (k.Status is not { } status || was?.Status == status || was is { Rules: not IEvaluationStore.CurrentRules })
                {
                    continue;
                }

                var change = new KpiChange(i.Id, i.Name, k.Id, k.Name, was?.Status, status, ReportText.KpiLine(k));
                (status switch { "met" => met, "at_risk" => atRisk, "missed" => missed, _ => null })?.Add(change);
            }
        }

        List<BlockChange>? blocked = null, unblocked = null;
        if (blockedBefore is not null)
        {
            var then = blockedBefore.ToHashSet(StringComparer.Ordinal);
            blocked = now.Initiatives.Where(i => i.Blocked && !then.Contains(i.Id))
                .Select(i => new BlockChange(i.Id, i.Name, ReportText.Names(now, i.BlockedBy))).ToList();
            unblocked = now.Initiatives.Where(i => !i.Blocked && then.Contains(i.Id))
                .Select(i => new BlockChange(i.Id, i.Name, [])).ToList();
        }

        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        var horizon = today.AddDays(DeadlineHorizonDays);
        var deadlines = new List<DeadlineAhead>();
        foreach (var i in now.Initiatives)
        {
            if (i.Timeline is { } t && t.Due >= today && t.Due <= horizon && i.DeclaredStatus is not ("done" or "cancelled"))
            {
                deadlines.Add(new DeadlineAhead(t.Due, i.Id, i.Name, null, i.Name, i.Health));
            }

            foreach (var k in i.Kpis)
            {
                if (k.DeadlineDate is { } d && d >= today && d <= horizon && k.Status != "met")
                {
                    deadlines.Add(new DeadlineAhead(d, i.Id, i.Name, k.Id, k.Name, k.Status));
                }
            }
        }

        return new WhatChanged(since, at, met, atRisk, missed, blocked, unblocked, [.. deadlines.OrderBy(d => d.Date)]);
    }

    /// <summary>The groups as updates title them, in order, with their items as lines; null items: not known.</summary>
    public IEnumerable<(string Title, IReadOnlyList<string>? Lines)> Groups()
    {
        yield return ("Newly met", NewlyMet.Select(Describe).ToList());
        yield return ("Newly at risk", NewlyAtRisk.Select(Describe).ToList());
        yield return ("Newly missed", NewlyMissed.Select(Describe).ToList());
        yield return ("Blocked", Blocked?.Select(b => $"{b.Name}: blocked by {string.Join(", ", b.BlockedBy)}").ToList());
        yield return ("Unblocked", Unblocked?.Select(b => b.Name).ToList());
        yield return ($"Deadlines in the next {DeadlineHorizonDays} days", Deadlines.Select(d =>
            $"{ReportText.Date(d.Date)}: {(d.Kpi is null ? $"{d.Name} due" : $"{d.InitiativeName}: {d.Name}")} ({ReportText.Words(d.Status)})").ToList());
    }

    /// <summary>"What changed since 2026-11-19T09:00:00Z".</summary>
    public string Title => $"What changed since {ReportText.Instant(Since)}";

    /// <summary>What a group says when it has no item, or when it is not known.</summary>
    public static string Empty(IReadOnlyList<string>? lines) => lines is null ? "not known (no update had gone out by then)" : "none";

    private static string Describe(KpiChange c) =>
        $"{c.InitiativeName}: {c.Line}{(c.From is null ? " (first judged)" : $" (was {ReportText.Words(c.From)})")}";
}
