using System.Text;
using System.Text.RegularExpressions;

namespace Roadmap.Worker.Reporting;

/// <summary>
/// The roadmap as a GitHub-flavoured markdown table, for wikis and pull requests: the seed roadmap's columns, one row
/// per initiative, several items in a cell separated by &lt;br&gt;.
/// </summary>
public static partial class MarkdownRenderer
{
    public const string HeaderRow = "| Initiative | Timeline | Technical Details | Dependencies | Risks | Mitigation | KPIs (value vs target, status) | Health |";
    public const string DelimiterRow = "|---|---|---|---|---|---|---|---|";

    public static string Render(RoadmapView view)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(Escape(view.Name)).Append('\n');
        if (!string.IsNullOrWhiteSpace(view.Vision))
        {
            md.Append('\n').Append(Escape(view.Vision)).Append('\n');
        }

        if (view.Goals.Count > 0)
        {
            md.Append("\nGoals:\n\n");
            foreach (var goal in view.Goals)
            {
                md.Append("- ").Append(Escape(goal.Title)).Append('\n');
            }
        }

        md.Append('\n')
            .Append(view.EvaluatedAt is { } at ? $"KPIs evaluated at {ReportText.Instant(at)}." : "KPIs not evaluated yet.")
            .Append("\n\n");
        md.Append(HeaderRow).Append('\n');
        md.Append(DelimiterRow).Append('\n');
        foreach (var i in view.Initiatives)
        {
            string[] cells =
            [
                Lines([i.Name, $"({ReportText.Declared(i)}{(i.Owner is null ? "" : $", {i.Owner}")})"]),
                Escape(ReportText.Timeline(i.Timeline)),
                Escape(i.Details ?? ReportText.Missing),
                i.DependsOn.Count == 0 ? ReportText.None : Lines(ReportText.Names(view, i.DependsOn)),
                i.Risks.Count == 0 ? ReportText.None : Lines(Numbered(i.Risks.Select(r => r.Risk))),
                i.Risks.Count == 0 ? ReportText.None : Lines(Numbered(i.Risks.Select(r => r.Mitigation ?? ReportText.Missing))),
                i.Kpis.Count == 0 ? ReportText.None : Lines(i.Kpis.Select(ReportText.KpiLine)),
                Escape(Health(view, i)),
            ];
            md.Append("| ").Append(string.Join(" | ", cells)).Append(" |\n");
        }

        return md.ToString();
    }

    /// <summary>"at risk", or "at risk; blocked by Optimize database performance".</summary>
    internal static string Health(RoadmapView view, InitiativeView i) =>
        ReportText.Words(i.Health) + (i.Blocked ? $"; blocked by {string.Join(", ", ReportText.Names(view, i.BlockedBy))}" : "");

    /// <summary>
    /// Text safe in a table cell: pipes escaped, line breaks as spaces, and a "&lt;" that could open a tag written as
    /// an entity (so a name with &lt;script&gt; stays text), while "&lt;= 0.3" stays readable.
    /// </summary>
    public static string Escape(string text)
    {
        var oneLine = LineBreaks().Replace(text, " ");
        return TagStart().Replace(oneLine.Replace("|", "\\|", StringComparison.Ordinal), "&lt;");
    }

    private static string Lines(IEnumerable<string> items) => string.Join("<br>", items.Select(Escape));

    private static IEnumerable<string> Numbered(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count == 1 ? list : list.Select((item, n) => $"{n + 1}. {item}");
    }

    [GeneratedRegex(@"\r\n|\r|\n")]
    private static partial Regex LineBreaks();

    [GeneratedRegex(@"<(?=[A-Za-z/!?])")]
    private static partial Regex TagStart();
}
