using System.Globalization;
using System.Net;
using System.Text;
using Roadmap.Worker.Reporting.Svg;

namespace Roadmap.Worker.Reporting;

/// <summary>
/// The roadmap as one self-contained HTML page: the board at <c>/</c> (with a refresh) and <c>report --format html</c>
/// (without). Inline CSS only, no scripts, fonts or images, so it works offline and from a file. Accessible: a
/// caption, column and row headers, and every status and health in words (the colour only repeats them).
/// Every config string is HTML-encoded.
/// </summary>
public static class HtmlRenderer
{
    /// <summary>The board never refreshes more often than this, whatever settings.evaluateEvery says. 5 s.</summary>
    public static readonly TimeSpan MinRefresh = TimeSpan.FromSeconds(5);

    internal const string Css = """
        :root { color-scheme: light; }
        body { margin: 0; padding: 16px 24px 32px; background: #f6f8fa; color: #1f2328;
          font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
        h1 { font-size: 24px; margin: 0 0 4px; }
        h2 { font-size: 14px; margin: 10px 0 2px; }
        p { margin: 4px 0; max-width: 80em; }
        .vision { color: #3d444d; }
        .goals { margin: 0; padding-left: 20px; }
        .evaluated { margin: 10px 0 12px; color: #3d444d; }
        table { width: 100%; border-collapse: collapse; table-layout: fixed; background: #fff; }
        caption { caption-side: top; text-align: left; font-weight: 600; padding: 6px 0; }
        th, td { border: 1px solid #d1d9e0; padding: 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
        thead th { background: #eef1f4; }
        tbody th { font-weight: 600; }
        col.c-initiative { width: 13%; } col.c-timeline { width: 9%; } col.c-details { width: 13%; }
        col.c-deps { width: 10%; } col.c-risks { width: 12%; } col.c-mitigation { width: 13%; }
        col.c-kpis { width: 20%; } col.c-health { width: 10%; }
        ol, ul { margin: 0; padding-left: 18px; }
        ul.kpis { list-style: none; padding: 0; }
        ul.kpis li + li { margin-top: 6px; padding-top: 6px; border-top: 1px dashed #d1d9e0; }
        .kpi-name { font-weight: 600; }
        .meta, .note, .figures { display: block; font-size: 12px; font-weight: normal; color: #59636e; }
        .figures { color: #1f2328; font-size: 13px; }
        .status, .health { display: inline-block; padding: 0 7px; border: 1px solid; border-radius: 10px;
          font-weight: 600; white-space: nowrap; }
        .s-met, .h-achieved, .h-done { background: #dafbe1; color: #116329; border-color: #4ac26b; }
        .s-on_track, .h-on_track { background: #ddf4ff; color: #0550ae; border-color: #54aeff; }
        .s-at_risk, .h-at_risk { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
        .s-missed, .h-missed { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
        .s-no_data, .h-no_data, .s-none, .h-none, .h-cancelled { background: #eff2f5; color: #424a53; border-color: #afb8c1; }
        .h-planned { background: #fbefff; color: #6e40c9; border-color: #c297ff; }
        .nowrap { white-space: nowrap; }
        .blocked { display: block; margin-top: 6px; color: #a40e26; font-weight: 600; }
        /* Health words and the names of blockers wrap between words only; a name wider than the column overflows it. */
        tbody td:last-child { overflow-wrap: normal; word-break: normal; }
        /* On a phone the table keeps readable columns and scrolls sideways inside the page. */
        @media (max-width: 700px) { body { padding: 10px; } main { overflow-x: auto; } main table { min-width: 1100px; } }
        a { color: #0550ae; }
        footer { margin-top: 12px; color: #59636e; font-size: 12px; }
        """;

    /// <param name="refresh">For the board: reload every this often (at least <see cref="MinRefresh"/>). Null for a
    /// report, which does not reload.</param>
    /// <param name="visuals">For the board: the timeline, sparklines and initiative links; null for a report.</param>
    public static string Render(RoadmapView view, TimeSpan? refresh = null, BoardVisuals? visuals = null)
    {
        var seconds = refresh is { } r ? (int)Math.Ceiling(Math.Max(r.TotalSeconds, MinRefresh.TotalSeconds)) : (int?)null;
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        if (seconds is { } s)
        {
            h.Append("<meta http-equiv=\"refresh\" content=\"").Append(s.ToString(CultureInfo.InvariantCulture)).Append("\">\n");
        }

        h.Append("<title>").Append(E(view.Name)).Append(" — roadmap</title>\n");
        h.Append("<style>\n").Append(Css).Append('\n').Append(BoardNotices.Css).Append(visuals is null ? "" : BoardVisuals.Css).Append("\n</style>\n</head>\n<body>\n");
        BoardNotices.ReloadBanner(h, view);
        h.Append("<header>\n");
        h.Append("<h1>").Append(E(view.Name)).Append("</h1>\n");
        if (!string.IsNullOrWhiteSpace(view.Vision))
        {
            h.Append("<p class=\"vision\">").Append(E(view.Vision)).Append("</p>\n");
        }

        if (view.Goals.Count > 0)
        {
            h.Append("<h2>Goals</h2>\n<ul class=\"goals\">\n");
            foreach (var g in view.Goals)
            {
                h.Append("<li id=\"goal-").Append(E(g.Id)).Append("\">").Append(E(g.Title)).Append("</li>\n");
            }

            h.Append("</ul>\n");
        }

        h.Append("<p class=\"evaluated\">");
        if (view.EvaluatedAt is { } at)
        {
            var iso = ReportText.Instant(at);
            h.Append("KPIs evaluated at <time datetime=\"").Append(iso).Append("\">")
                .Append(at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append(" UTC</time>.");
        }
        else
        {
            h.Append("KPIs not evaluated yet.");
        }

        if (seconds is { } every)
        {
            h.Append(" This page refreshes every ").Append(every.ToString(CultureInfo.InvariantCulture)).Append(" seconds.");
        }

        h.Append("</p>\n</header>\n");
        visuals?.RenderTimeline(h, view);
        h.Append("<main>\n");
        Table(h, view, visuals);
        h.Append("</main>\n");
        if (seconds is not null)
        {
            h.Append("<footer>The same table as JSON: <a href=\"/api/roadmap\">/api/roadmap</a>. Metrics for Grafana: <a href=\"/metrics\">/metrics</a>.</footer>\n");
        }

        h.Append("</body>\n</html>\n");
        return h.ToString();
    }

    private static void Table(StringBuilder h, RoadmapView view, BoardVisuals? visuals)
    {
        h.Append("<table>\n<caption>Initiatives of ").Append(E(view.Name))
            .Append(": timeline, technical details, dependencies, risks and their mitigation, KPIs (value against target, and status) and health</caption>\n");
        h.Append("<colgroup><col class=\"c-initiative\"><col class=\"c-timeline\"><col class=\"c-details\"><col class=\"c-deps\"><col class=\"c-risks\"><col class=\"c-mitigation\"><col class=\"c-kpis\"><col class=\"c-health\"></colgroup>\n");
        h.Append("<thead>\n<tr>");
        foreach (var column in new[] { "Initiative", "Timeline", "Technical details", "Dependencies", "Risks", "Mitigation", "KPIs (value vs target, status)", "Health" })
        {
            h.Append("<th scope=\"col\">").Append(column).Append("</th>");
        }

        h.Append("</tr>\n</thead>\n<tbody>\n");
        foreach (var i in view.Initiatives)
        {
            Row(h, view, i, visuals);
        }

        h.Append("</tbody>\n</table>\n");
    }

    private static void Row(StringBuilder h, RoadmapView view, InitiativeView i, BoardVisuals? visuals)
    {
        var health = i.Health ?? "none";
        h.Append("<tr id=\"initiative-").Append(E(i.Id)).Append("\" data-initiative=\"").Append(E(i.Id))
            .Append("\" data-health=\"").Append(E(health)).Append("\">\n");

        h.Append("<th scope=\"row\"><span class=\"name\">");
        h.Append(visuals is null ? E(i.Name) : $"<a href=\"{E(BoardVisuals.InitiativeHref(i.Id))}\">{E(i.Name)}</a>").Append("</span>");
        h.Append("<span class=\"meta\">").Append(E(ReportText.Declared(i)));
        if (i.Owner is not null)
        {
            h.Append(" · ").Append(E(i.Owner));
        }

        h.Append("</span>");
        if (i.Goal is not null)
        {
            var goal = view.Goals.FirstOrDefault(g => g.Id == i.Goal)?.Title ?? i.Goal;
            h.Append("<span class=\"meta\">Goal: ").Append(E(goal)).Append("</span>");
        }

        h.Append("</th>\n");
        h.Append("<td>");
        Timeline(h, i.Timeline);
        h.Append("</td>\n");
        h.Append("<td>").Append(E(i.Details ?? ReportText.Missing)).Append("</td>\n");

        h.Append("<td>");
        if (i.DependsOn.Count == 0)
        {
            h.Append(ReportText.None);
        }
        else
        {
            h.Append("<ul>");
            foreach (var d in i.DependsOn)
            {
                h.Append("<li><a href=\"#initiative-").Append(E(d)).Append("\">").Append(E(view.FindInitiative(d)?.Name ?? d)).Append("</a></li>");
            }

            h.Append("</ul>");
        }

        h.Append("</td>\n");
        List(h, i.Risks.Select(r => r.Risk));
        List(h, i.Risks.Select(r => r.Mitigation ?? ReportText.Missing));

        h.Append("<td>");
        if (i.Kpis.Count == 0)
        {
            h.Append(ReportText.None);
        }
        else
        {
            h.Append("<ul class=\"kpis\">");
            foreach (var k in i.Kpis)
            {
                Kpi(h, k, i, visuals);
            }

            h.Append("</ul>");
        }

        h.Append("</td>\n");

        h.Append("<td><span class=\"health h-").Append(E(health)).Append("\">").Append(E(ReportText.Words(i.Health))).Append("</span>");
        if (i.Blocked)
        {
            h.Append("<span class=\"blocked\">blocked by ");
            h.AppendJoin(", ", i.BlockedBy.Select(b => $"<a href=\"#initiative-{E(b)}\">{E(view.FindInitiative(b)?.Name ?? b)}</a>"));
            h.Append("</span>");
        }

        h.Append("</td>\n</tr>\n");
    }

    /// <summary>The same words as <see cref="ReportText.Timeline"/>, with dates that do not break at their hyphens.</summary>
    private static void Timeline(StringBuilder h, TimelineView? t)
    {
        if (t is null)
        {
            h.Append(E(ReportText.Timeline(t)));
            return;
        }

        var (start, due) = (ReportText.Date(t.Start), ReportText.Date(t.Due));
        var range = $"<span class=\"nowrap\">{start}</span> to <span class=\"nowrap\">{due}</span>";
        h.Append(t.Label == $"{start}..{due}" ? range : $"{E(t.Label)} ({range})");
    }

    private static void List(StringBuilder h, IEnumerable<string> items)
    {
        var list = items.ToList();
        h.Append("<td>");
        if (list.Count == 0)
        {
            h.Append(ReportText.None);
        }
        else
        {
            h.Append("<ol>");
            foreach (var item in list)
            {
                h.Append("<li>").Append(E(item)).Append("</li>");
            }

            h.Append("</ol>");
        }

        h.Append("</td>\n");
    }

    private static void Kpi(StringBuilder h, KpiView k, InitiativeView i, BoardVisuals? visuals)
    {
        var status = k.Status ?? "none";
        h.Append("<li data-kpi=\"").Append(E(k.Id)).Append("\" data-status=\"").Append(E(status)).Append("\">");
        h.Append("<span class=\"status s-").Append(E(status)).Append("\">").Append(E(ReportText.Words(k.Status))).Append("</span> ");
        h.Append("<span class=\"kpi-name\">").Append(E(k.Name)).Append("</span>");
        h.Append("<span class=\"figures\">").Append(E(ReportText.Number(k.Value, k.Unit)))
            .Append(" (").Append(E(k.Aggregate)).Append(" over ").Append(E(ReportText.Observed(k) ?? k.Window)).Append(") vs target ")
            .Append(E(ReportText.Target(k))).Append(E(ReportText.By(k))).Append("</span>");
        BoardNotices.Reason(h, k);
        // A budget KPI's note already says how much of its error budget is left.
        var note = k.Note ?? "";
        if (note.Length > 0)
        {
            h.Append("<span class=\"note\">").Append(E(note)).Append("</span>");
        }

        visuals?.RenderSparkline(h, i, k);
        h.Append("</li>");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
