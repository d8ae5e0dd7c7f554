using System.Text;

namespace Roadmap.Worker.Reporting.Svg;

/// <summary>
/// What the live board at <c>/</c> draws beyond the table (the <c>report</c> verb's HTML has none of it): the timeline
/// above it, a sparkline under each KPI, and links to each initiative's page.
/// </summary>
/// <param name="Today">The current instant in the roadmap's time zone.</param>
/// <param name="Trails">Each KPI's stored evaluations (<see cref="KpiTrails.Read"/>); null while they are being loaded
/// (<see cref="KpiTrails.ReadIfLoaded"/>): each KPI then says its trend is loading instead of drawing it.</param>
public sealed record BoardVisuals(DateTime Today, IReadOnlyDictionary<(string Initiative, string Kpi), Trail>? Trails)
{
    /// <summary>The CSS the visuals add to the page's own.</summary>
    public const string Css = Timeline.Css + Sparkline.Css;

    /// <summary>What a KPI shows instead of its sparkline while the trails are loading.</summary>
    public const string TrendLoading = "trend loading";

    /// <summary>The path of an initiative's page: <c>/initiatives/{id}</c>.</summary>
    public static string InitiativeHref(string id) => "/initiatives/" + Uri.EscapeDataString(id);

    /// <summary>The visuals at <paramref name="now"/> for <paramref name="config"/>, with its KPIs' trails as read (null: loading).</summary>
    public static BoardVisuals For(Roadmap.Core.Config.RoadmapConfig config, IReadOnlyDictionary<(string Initiative, string Kpi), Trail>? trails, DateTimeOffset now) =>
        new(TimeZoneInfo.ConvertTime(now, config.Settings.TimeZone).DateTime, trails);

    /// <summary>Appends the timeline section.</summary>
    public void RenderTimeline(StringBuilder h, RoadmapView view) => Timeline.Render(h, view, Today, InitiativeHref);

    /// <summary>
    /// Appends the KPI's sparkline, or while the trails are loading a line saying so (nothing for a KPI without a
    /// trail: one added since the trails were read).
    /// </summary>
    public void RenderSparkline(StringBuilder h, InitiativeView i, KpiView k)
    {
        if (Trails is null)
        {
            h.Append("<span class=\"spark-empty\" data-trend=\"").Append(System.Net.WebUtility.HtmlEncode(k.Id)).Append("\" data-trend-loading=\"true\">")
                .Append(TrendLoading).Append("</span>");
        }
        else if (Trails.TryGetValue((i.Id, k.Id), out var trail))
        {
            Sparkline.Render(h, k, trail, TrendSize.Inline);
        }
    }
}
