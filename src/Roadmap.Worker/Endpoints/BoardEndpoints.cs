using Roadmap.Core.Config;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Reporting.Svg;

namespace Roadmap.Worker.Endpoints;

public static class BoardEndpoints
{
    /// <summary>
    /// <c>/</c>: the roadmap board, one self-contained HTML page that reloads itself every settings.evaluateEvery (at
    /// least every 5 s), with the timeline, a sparkline per KPI ("trend loading" until the stored trails are in
    /// memory) and links to each initiative's page.
    /// </summary>
    public static IEndpointRouteBuilder MapRoadmapBoard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (RoadmapConfig config, EvaluationService evaluation, KpiTrails trails, TimeProvider time, HttpContext http) =>
        {
            // The page is the live state: a cached copy would show stale statuses.
            http.Response.Headers.CacheControl = "no-store";
            // Never waits for the trails' load (at start, after a reload): until it is done, no sparklines.
            var now = time.GetUtcNow();
            var visuals = BoardVisuals.For(config, trails.ReadIfLoaded(config, now), now);
            var html = HtmlRenderer.Render(CurrentRoadmap.Get(config, evaluation, http.RequestServices.GetService<CurrentConfig>()), config.Settings.EvaluateEvery, visuals);
            return Results.Content(html, "text/html; charset=utf-8");
        });
        return app;
    }
}
