using System.Text;

namespace Roadmap.Worker.Reporting.Svg;

/// <summary>
/// What the live board at <c>/</c> draws beyond the table (the <c>report</c> verb's HTML has none of it): the timeline
/// above it, a sparkline under each KPI, and links to each initiative's page.
/// </summary>
/// <param name="Today">The current instant in the roadmap's time zone.</param>
/// <param name="Trails">Each KPI's stored evaluations (<see cref="KpiTrails.Read"/>).</param>
public sealed record BoardVisuals(DateTime Today, IReadOnlyDictionary<(string Initiative, string Kpi), Trail> Trails)
{
    /// <summary>The CSS the visuals add to the page's own.</summary>
    public const string Css = Timeline.Css + Sparkline.Css;

    /// <summary>The path of an initiative's page: <c>/initiatives/{id}</c>.</summary>
    public static string InitiativeHref(string id) => "/initiatives/" + Uri.EscapeDataString(id);

    /// <summary>The visuals at <paramref name="now"/> for <paramref name="config"/>, with its KPIs' trails read once.</summary>
    public static BoardVisuals For(Roadmap.Core.Config.RoadmapConfig config, KpiTrails trails, DateTimeOffset now) =>
        new(TimeZoneInfo.ConvertTime(now, config.Settings.TimeZone).DateTime, trails.Read(config, now));

    /// <summary>Appends the timeline section.</summary>
    public void RenderTimeline(StringBuilder h, RoadmapView view) => Timeline.Render(h, view, Today, InitiativeHref);

    /// <summary>Appends the KPI's sparkline (nothing for a KPI without a trail: one added since the trails were read).</summary>
    public void RenderSparkline(StringBuilder h, InitiativeView i, KpiView k)
    {
        if (Trails.TryGetValue((i.Id, k.Id), out var trail))
        {
            Sparkline.Render(h, k, trail, TrendSize.Inline);
        }
    }
}
