using System.Globalization;
using System.Net;
using System.Text;

namespace Roadmap.Worker.Reporting.Svg;

/// <summary>
/// The quarter timeline above the board's table, in HTML and CSS only: quarters and months across, one bar per
/// initiative from the first day of its start to the end of its due day, coloured by health (the table's colours), a
/// "today" line, a ◆ in an initiative's row where each initiative it depends on is due (red when that is after its
/// start), and blocked initiatives striped and named. Positions are percentages of the track, from the first day of the
/// first quarter to the end of the last quarter that any timeline touches, so the bars line up at any width; on a
/// narrow screen each label moves above its track.
/// </summary>
public static class Timeline
{
    /// <summary>CSS for the timeline's classes (the health colours are the table's <c>h-*</c> classes).</summary>
    public const string Css = """
        .timeline { margin: 0 0 16px; background: #fff; border: 1px solid #d1d9e0; padding: 8px 12px 10px; }
        .timeline h2 { margin: 0 0 6px; font-size: 16px; }
        .tl-row { display: grid; grid-template-columns: minmax(160px, 22%) 1fr; align-items: center; min-height: 30px; }
        .tl-row + .tl-row { border-top: 1px solid #eef1f4; }
        a.tl-label { padding: 3px 8px 3px 0; font-weight: 600; overflow-wrap: normal; color: inherit; text-decoration: none; }
        .tl-label .tl-name { color: #0550ae; text-decoration: underline; }
        .tl-label .tl-meta { display: block; font-weight: normal; font-size: 12px; color: #59636e; }
        .tl-label .tl-meta.tl-blocked { color: #a40e26; font-weight: 600; }
        .tl-track { position: relative; height: 26px; }
        .tl-head .tl-track { height: 50px; }
        .tl-q, .tl-m { position: absolute; top: 0; box-sizing: border-box; border-left: 1px solid #afb8c1; padding-left: 4px;
          white-space: nowrap; overflow: hidden; font-size: 13px; font-weight: 600; }
        .tl-m { top: 18px; font-size: 11px; font-weight: normal; color: #59636e; border-left-color: #d1d9e0; }
        .tl-grid { position: absolute; top: 0; bottom: 0; border-left: 1px solid #eef1f4; }
        .tl-bar { position: absolute; top: 5px; height: 16px; box-sizing: border-box; border-width: 1px; border-style: solid; border-radius: 4px; min-width: 3px; }
        .tl-bar.tl-is-blocked { background-image: repeating-linear-gradient(135deg, transparent 0 5px, rgba(164, 14, 38, 0.35) 5px 8px); border-width: 2px; }
        .tl-dep { position: absolute; top: 3px; margin-left: -6px; font-size: 12px; line-height: 20px; color: #59636e; }
        .tl-dep.tl-late { color: #a40e26; }
        .tl-today { position: absolute; top: -2px; bottom: -2px; width: 0; border-left: 2px solid #cf222e; z-index: 1; }
        .tl-today-label { position: absolute; top: 34px; margin-left: 4px; font-size: 11px; font-weight: 600; color: #cf222e; white-space: nowrap; }
        .tl-note { font-size: 12px; color: #59636e; margin: 4px 0 0; }
        @media (max-width: 700px) {
          .timeline { padding: 6px 8px; }
          .tl-row { display: block; padding: 4px 0; }
          .tl-head .tl-label { display: none; }
          .tl-m { display: none; }
          .tl-head .tl-track { height: 36px; }
          .tl-today-label { top: 20px; }
          .tl-q { font-size: 12px; }
        }
        """;

    /// <summary>Appends the timeline section; nothing when no initiative has a timeline.</summary>
    /// <param name="today">The current instant in the roadmap's time zone (its date and time of day place the line).</param>
    /// <param name="href">The link of an initiative's own page.</param>
    public static void Render(StringBuilder h, RoadmapView view, DateTime today, Func<string, string> href)
    {
        var timed = view.Initiatives.Where(i => i.Timeline is not null).ToList();
        if (timed.Count == 0)
        {
            return;
        }

        var from = QuarterStart(timed.Min(i => i.Timeline!.Start));
        var to = QuarterStart(timed.Max(i => i.Timeline!.Due)).AddMonths(3); // exclusive: the day after the last quarter
        var days = (double)(to.DayNumber - from.DayNumber);
        string Pct(double day) => (day * 100 / days).ToString("0.###", CultureInfo.InvariantCulture) + "%";
        string At(DateOnly date) => Pct(date.DayNumber - from.DayNumber);
        var todayDay = DateOnly.FromDateTime(today).DayNumber - from.DayNumber + today.TimeOfDay.TotalDays;
        var showToday = todayDay >= 0 && todayDay <= days;

        h.Append("<section class=\"timeline\" aria-labelledby=\"timeline-title\">\n<h2 id=\"timeline-title\">Timeline</h2>\n");
        h.Append("<div class=\"tl\" data-from=\"").Append(ReportText.Date(from)).Append("\" data-to=\"").Append(ReportText.Date(to.AddDays(-1)))
            .Append("\" data-today=\"").Append(today.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)).Append("\">\n");

        h.Append("<div class=\"tl-row tl-head\" aria-hidden=\"true\"><span class=\"tl-label\"></span><div class=\"tl-track\">");
        for (var q = from; q < to; q = q.AddMonths(3))
        {
            h.Append("<span class=\"tl-q\" style=\"left:").Append(At(q)).Append(";width:").Append(Pct(q.AddMonths(3).DayNumber - q.DayNumber)).Append("\">")
                .Append(q.Year.ToString(CultureInfo.InvariantCulture)).Append(" Q").Append((((q.Month - 1) / 3) + 1).ToString(CultureInfo.InvariantCulture)).Append("</span>");
            for (var m = q; m < q.AddMonths(3); m = m.AddMonths(1))
            {
                h.Append("<span class=\"tl-m\" style=\"left:").Append(At(m)).Append(";width:").Append(Pct(m.AddMonths(1).DayNumber - m.DayNumber)).Append("\">")
                    .Append(m.ToString("MMM", CultureInfo.InvariantCulture)).Append("</span>");
            }
        }

        if (showToday)
        {
            h.Append("<span class=\"tl-today\" style=\"left:").Append(Pct(todayDay)).Append("\"></span><span class=\"tl-today-label\" style=\"left:")
                .Append(Pct(todayDay)).Append("\">today</span>");
        }

        h.Append("</div></div>\n");
        foreach (var i in view.Initiatives)
        {
            Row(h, view, i, (from, to), Pct, showToday ? Pct(todayDay) : null, href);
        }

        h.Append("</div>\n");
        if (!showToday)
        {
            h.Append("<p class=\"tl-note\">Today (").Append(ReportText.Date(DateOnly.FromDateTime(today))).Append(") is outside the timeline.</p>\n");
        }

        h.Append("<p class=\"tl-note\">Bars run from the first day to the end of the due day, coloured by health; ◆ marks where a dependency is due (red: after this one starts); striped: blocked.</p>\n");
        h.Append("</section>\n");
    }

    private static void Row(StringBuilder h, RoadmapView view, InitiativeView i, (DateOnly From, DateOnly To) range, Func<double, string> pct, string? today, Func<string, string> href)
    {
        var (from, to) = range;
        string At(DateOnly date) => pct(date.DayNumber - from.DayNumber);
        var health = i.Health ?? "none";
        h.Append("<div class=\"tl-row\" data-initiative=\"").Append(E(i.Id)).Append("\" data-health=\"").Append(E(health)).Append("\">");
        h.Append("<a class=\"tl-label\" href=\"").Append(E(href(i.Id))).Append("\"><span class=\"tl-name\">").Append(E(i.Name)).Append("</span>");
        h.Append("<span class=\"tl-meta\">").Append(E(ReportText.Words(i.Health)));
        if (i.Timeline is { } t)
        {
            h.Append(" · ").Append(E(t.Label == $"{ReportText.Date(t.Start)}..{ReportText.Date(t.Due)}" ? $"{ReportText.Date(t.Start)} to {ReportText.Date(t.Due)}" : t.Label));
        }
        else
        {
            h.Append(" · no timeline");
        }

        h.Append("</span>");
        if (i.DependsOn.Count > 0)
        {
            h.Append("<span class=\"tl-meta\">after ").Append(E(string.Join(", ", ReportText.Names(view, i.DependsOn)))).Append("</span>");
        }

        if (i.Blocked)
        {
            h.Append("<span class=\"tl-meta tl-blocked\">blocked by ").Append(E(string.Join(", ", ReportText.Names(view, i.BlockedBy)))).Append("</span>");
        }

        h.Append("</a><div class=\"tl-track\">");
        for (var q = from; q < to; q = q.AddMonths(3))
        {
            h.Append("<span class=\"tl-grid\" style=\"left:").Append(At(q)).Append("\"></span>");
        }

        if (i.Timeline is { } tl)
        {
            var end = tl.Due.AddDays(1);
            h.Append("<span class=\"tl-bar h-").Append(E(health)).Append(i.Blocked ? " tl-is-blocked" : "").Append("\" data-start=\"")
                .Append(ReportText.Date(tl.Start)).Append("\" data-due=\"").Append(ReportText.Date(tl.Due)).Append("\" style=\"left:").Append(At(tl.Start))
                .Append(";width:").Append(pct(end.DayNumber - tl.Start.DayNumber)).Append("\" title=\"")
                .Append(E($"{i.Name}: {ReportText.Date(tl.Start)} to {ReportText.Date(tl.Due)}, {ReportText.Words(i.Health)}{(i.Blocked ? ", blocked" : "")}"))
                .Append("\"></span>");
            foreach (var d in i.DependsOn)
            {
                if (view.FindInitiative(d)?.Timeline is { } dt && dt.Due >= from && dt.Due < to)
                {
                    var late = dt.Due >= tl.Start;
                    h.Append("<span class=\"tl-dep").Append(late ? " tl-late" : "").Append("\" data-dependency=\"").Append(E(d)).Append("\" style=\"left:")
                        .Append(At(dt.Due.AddDays(1))).Append("\" title=\"").Append(E($"{view.FindInitiative(d)!.Name} is due {ReportText.Date(dt.Due)}"))
                        .Append("\">◆</span>");
                }
            }
        }

        if (today is not null)
        {
            h.Append("<span class=\"tl-today\" style=\"left:").Append(today).Append("\"></span>");
        }

        h.Append("</div></div>\n");
    }

    private static DateOnly QuarterStart(DateOnly d) => new(d.Year, (((d.Month - 1) / 3) * 3) + 1, 1);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
