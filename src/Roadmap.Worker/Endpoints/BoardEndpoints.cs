using Roadmap.Core.Config;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Endpoints;

public static class BoardEndpoints
{
    /// <summary>
    /// <c>/</c>: the roadmap board, one self-contained HTML page that reloads itself every settings.evaluateEvery (at
    /// least every 5 s).
    /// </summary>
    public static IEndpointRouteBuilder MapRoadmapBoard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (RoadmapConfig config, EvaluationService evaluation, HttpContext http) =>
        {
            // The page is the live state: a cached copy would show stale statuses.
            http.Response.Headers.CacheControl = "no-store";
            var html = HtmlRenderer.Render(CurrentRoadmap.Get(config, evaluation, http.RequestServices.GetService<CurrentConfig>()), config.Settings.EvaluateEvery);
            return Results.Content(html, "text/html; charset=utf-8");
        });
        return app;
    }
}
