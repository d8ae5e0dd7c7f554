using System.Globalization;
using System.Net;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Reporting.Svg;

namespace Roadmap.Worker.Reporting;

/// <summary>A range of the initiative page's history, picked with a link (<c>?range=7d</c>): no script needed.</summary>
/// <param name="Name">The query value: 7d, 30d, quarter.</param>
public sealed record HistoryRange(string Name, string Label)
{
    public static readonly HistoryRange Week = new("7d", "7 days");
    public static readonly HistoryRange Month = new("30d", "30 days");

    /// <summary>The current calendar quarter so far, in settings.timezone (as a KPI's <c>quarter</c> window).</summary>
    public static readonly HistoryRange Quarter = new("quarter", "this quarter");

    public static IReadOnlyList<HistoryRange> All { get; } = [Week, Month, Quarter];

    /// <summary>The range named so; <see cref="Month"/> when none is named; null for an unknown name.</summary>
    public static HistoryRange? Parse(string? name) =>
        string.IsNullOrEmpty(name) ? Month : All.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal));

    /// <summary>Where the range starts at <paramref name="now"/>.</summary>
    public DateTimeOffset StartAt(DateTimeOffset now, TimeZoneInfo zone)
    {
        if (this == Week)
        {
            return now.AddDays(-7);
        }

        if (this == Month)
        {
            return now.AddDays(-30);
        }

        var local = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        return Dates.StartOfDay(new DateOnly(local.Year, (((local.Month - 1) / 3) * 3) + 1, 1), zone);
    }
}

/// <summary>A stored change of a KPI's status: the first evaluation whose status differs from the one before it.</summary>
public sealed record StatusChange(DateTimeOffset At, string From, string To, double? Value);

/// <summary>One KPI's history on the initiative page.</summary>
/// <param name="Evaluations">How many evaluations are stored in the range.</param>
public sealed record KpiHistoryView(KpiView Kpi, Trail Chart, IReadOnlyList<StatusChange> Changes, int Evaluations);

/// <summary>
/// <c>/initiatives/{id}</c>: one initiative on its own page: each KPI's chart of its stored evaluations over a range
/// picked by links (7 days, 30 days, this quarter), its status changes, the risks with their mitigations, and the
/// dependencies both ways (depends on, needed by). The board's look, no script, no external asset.
/// </summary>
public static class InitiativePage
{
    /// <summary>A chart shows at most this many points (the newest of each equal slice of the range). 240.</summary>
    public const int ChartPoints = 240;

    /// <summary>The page lists at most this many status changes, the newest. 50.</summary>
    public const int MaxChanges = 50;

    private const string Css = """
        nav.crumbs { margin: 0 0 8px; }
        section.kpi { background: #fff; border: 1px solid #d1d9e0; padding: 10px 12px; margin: 12px 0; }
        section.kpi h3 { margin: 0 0 4px; font-size: 16px; }
        nav.ranges a, nav.ranges strong { display: inline-block; padding: 2px 10px; margin-right: 4px; border: 1px solid #d1d9e0; border-radius: 12px; }
        nav.ranges strong { background: #0550ae; color: #fff; border-color: #0550ae; }
        table.changes { width: auto; min-width: 50%; margin-top: 6px; table-layout: auto; }
        table.plain { table-layout: auto; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 8px 0; }
        dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
        @media (max-width: 700px) { body { padding: 10px; } svg.spark { width: 100%; } dl.facts { grid-template-columns: 1fr; }
          main table.plain, main table.changes { min-width: 0; width: 100%; } }
        """;

    /// <summary>Reads each KPI's stored evaluations from <paramref name="from"/> to <paramref name="now"/>: one read per KPI.</summary>
    public static IReadOnlyList<KpiHistoryView> Read(IEvaluationStore store, InitiativeView initiative, DateTimeOffset from, DateTimeOffset now)
    {
        var grain = Math.Max(1, (long)(now - from).TotalMilliseconds / ChartPoints);
        return initiative.Kpis.Select(k =>
        {
            var rows = store.History(initiative.Id, k.Id, from, now);
            var points = new List<TrailPoint>();
            var changes = new List<StatusChange>();
            StoredEvaluation? previous = null;
            foreach (var row in rows)
            {
                var point = new TrailPoint(row.TimestampMs, row.Value, row.Status);
                if (points.Count > 0 && points[^1].TimestampMs / grain == row.TimestampMs / grain)
                {
                    points[^1] = point;
                }
                else
                {
                    points.Add(point);
                }

                // A status judged under other rules is another kind of status, not a change (IEvaluationStore.CurrentRules).
                if (previous is not null && previous.Rules == row.Rules && previous.Status != row.Status)
                {
                    changes.Add(new StatusChange(DateTimeOffset.FromUnixTimeMilliseconds(row.TimestampMs), previous.Status, row.Status, row.Value));
                }

                previous = row;
            }

            return new KpiHistoryView(k, new Trail(from, now, points), changes, rows.Count);
        }).ToList();
    }

    /// <summary>The page.</summary>
    public static string Render(RoadmapView view, InitiativeView i, HistoryRange range, IReadOnlyList<KpiHistoryView> kpis)
    {
        var h = new StringBuilder();
        Head(h, $"{i.Name} — {view.Name}");
        h.Append("<nav class=\"crumbs\"><a href=\"/\">").Append(E(view.Name)).Append(" board</a></nav>\n<header>\n<h1>").Append(E(i.Name)).Append("</h1>\n");
        h.Append("<p><span class=\"health h-").Append(E(i.Health ?? "none")).Append("\">").Append(E(ReportText.Words(i.Health))).Append("</span>");
        if (i.Blocked)
        {
            h.Append(" <span class=\"blocked\" style=\"display:inline\">blocked by ");
            Links(h, view, i.BlockedBy);
            h.Append("</span>");
        }

        h.Append("</p>\n<dl class=\"facts\">");
        Fact(h, "Declared", ReportText.Declared(i));
        Fact(h, "Timeline", ReportText.Timeline(i.Timeline));
        if (i.Owner is not null)
        {
            Fact(h, "Owner", i.Owner);
        }

        if (i.Goal is not null)
        {
            Fact(h, "Goal", view.Goals.FirstOrDefault(g => g.Id == i.Goal)?.Title ?? i.Goal);
        }

        Fact(h, "Technical details", i.Details ?? ReportText.Missing);
        h.Append("<dt>Depends on</dt><dd class=\"depends-on\">");
        Links(h, view, i.DependsOn);
        h.Append("</dd><dt>Needed by</dt><dd class=\"needed-by\">");
        Links(h, view, view.Initiatives.Where(o => o.DependsOn.Contains(i.Id)).Select(o => o.Id).ToList());
        h.Append("</dd></dl>\n");
        if (view.EvaluatedAt is { } at)
        {
            h.Append("<p class=\"evaluated\">KPIs evaluated at <time datetime=\"").Append(ReportText.Instant(at)).Append("\">")
                .Append(ReportText.Instant(at)).Append("</time>.</p>\n");
        }

        h.Append("</header>\n<main>\n<h2>Risks and mitigations</h2>\n");
        if (i.Risks.Count == 0)
        {
            h.Append("<p>").Append(ReportText.None).Append("</p>\n");
        }
        else
        {
            h.Append("<table class=\"plain risks\"><thead><tr><th scope=\"col\">Risk</th><th scope=\"col\">Mitigation</th></tr></thead><tbody>");
            foreach (var r in i.Risks)
            {
                h.Append("<tr><td>").Append(E(r.Risk)).Append("</td><td>").Append(E(r.Mitigation ?? ReportText.Missing)).Append("</td></tr>");
            }

            h.Append("</tbody></table>\n");
        }

        h.Append("<h2>KPIs</h2>\n<nav class=\"ranges\" aria-label=\"History range\">");
        foreach (var r in HistoryRange.All)
        {
            h.Append(r == range
                ? $"<strong aria-current=\"page\">{E(r.Label)}</strong>"
                : $"<a href=\"{E(BoardVisuals.InitiativeHref(i.Id))}?range={E(r.Name)}\">{E(r.Label)}</a>");
        }

        h.Append("</nav>\n");
        if (kpis.Count == 0)
        {
            h.Append("<p>").Append(ReportText.None).Append("</p>\n");
        }

        foreach (var k in kpis)
        {
            Kpi(h, k);
        }

        h.Append("</main>\n</body>\n</html>\n");
        return h.ToString();
    }

    /// <summary>The 404 page of an unknown id (or a 400 page of an unknown range), with a way back to the board.</summary>
    public static string Problem(string title, string detail)
    {
        var h = new StringBuilder();
        Head(h, title);
        h.Append("<h1>").Append(E(title)).Append("</h1>\n<p>").Append(E(detail)).Append("</p>\n<p><a href=\"/\">Back to the board</a></p>\n</body>\n</html>\n");
        return h.ToString();
    }

    private static void Kpi(StringBuilder h, KpiHistoryView history)
    {
        var k = history.Kpi;
        var status = k.Status ?? "none";
        h.Append("<section class=\"kpi\" id=\"kpi-").Append(E(k.Id)).Append("\" data-kpi=\"").Append(E(k.Id)).Append("\" data-status=\"").Append(E(status))
            .Append("\" data-evaluations=\"").Append(history.Evaluations.ToString(CultureInfo.InvariantCulture)).Append("\">\n");
        h.Append("<h3><span class=\"status s-").Append(E(status)).Append("\">").Append(E(ReportText.Words(k.Status))).Append("</span> ").Append(E(k.Name)).Append("</h3>\n");
        h.Append("<p class=\"figures\">").Append(E(ReportText.KpiLine(k))).Append("</p>\n");
        if (!string.IsNullOrEmpty(k.Note))
        {
            h.Append("<p class=\"note\">").Append(E(k.Note)).Append("</p>\n");
        }

        Sparkline.Render(h, k, history.Chart, TrendSize.Chart);
        h.Append("\n<h4>Status changes</h4>\n");
        if (history.Changes.Count == 0)
        {
            h.Append("<p class=\"changes\">No status change stored in this range (").Append(history.Evaluations.ToString(CultureInfo.InvariantCulture))
                .Append(" evaluations).</p>\n");
        }
        else
        {
            var shown = history.Changes.TakeLast(MaxChanges).Reverse().ToList();
            h.Append("<table class=\"changes\"><thead><tr><th scope=\"col\">When (UTC)</th><th scope=\"col\">From</th><th scope=\"col\">To</th><th scope=\"col\">Value</th></tr></thead><tbody>");
            foreach (var c in shown)
            {
                h.Append("<tr data-at=\"").Append(ReportText.Instant(c.At)).Append("\"><td><time datetime=\"").Append(ReportText.Instant(c.At)).Append("\">")
                    .Append(ReportText.Instant(c.At)[..16].Replace('T', ' ')).Append("</time></td><td><span class=\"status s-").Append(E(c.From)).Append("\">")
                    .Append(E(ReportText.Words(c.From))).Append("</span></td><td><span class=\"status s-").Append(E(c.To)).Append("\">")
                    .Append(E(ReportText.Words(c.To))).Append("</span></td><td>").Append(E(ReportText.Number(c.Value, k.Unit))).Append("</td></tr>");
            }

            h.Append("</tbody></table>\n");
            if (history.Changes.Count > shown.Count)
            {
                h.Append("<p class=\"note\">").Append((history.Changes.Count - shown.Count).ToString(CultureInfo.InvariantCulture))
                    .Append(" earlier changes not shown.</p>\n");
            }
        }

        h.Append("</section>\n");
    }

    private static void Head(StringBuilder h, string title)
    {
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.Append("<title>").Append(E(title)).Append("</title>\n<style>\n").Append(HtmlRenderer.Css).Append(Sparkline.Css).Append(Css)
            .Append("\n</style>\n</head>\n<body>\n");
    }

    private static void Fact(StringBuilder h, string name, string value) =>
        h.Append("<dt>").Append(E(name)).Append("</dt><dd>").Append(E(value)).Append("</dd>");

    private static void Links(StringBuilder h, RoadmapView view, IReadOnlyList<string> ids)
    {
        if (ids.Count == 0)
        {
            h.Append(ReportText.None);
            return;
        }

        h.AppendJoin(", ", ids.Select(id => $"<a href=\"{E(BoardVisuals.InitiativeHref(id))}\">{E(view.FindInitiative(id)?.Name ?? id)}</a>"));
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
