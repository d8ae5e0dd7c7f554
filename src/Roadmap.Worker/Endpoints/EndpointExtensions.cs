using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Endpoints;

public static class EndpointExtensions
{
    /// <summary>
    /// /metrics, /healthz (alive), /readyz (database open and scheduler running, else 503), the JSON API under /api
    /// the roadmap board at / and a page per initiative at /initiatives/{id}.
    /// </summary>
    public static IEndpointRouteBuilder MapRoadmapEndpoints(this IEndpointRouteBuilder app)
    {
        var metrics = app.ServiceProvider.GetRequiredService<RoadmapMetrics>();
        app.MapRoadmapMetrics(metrics);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", async (Readiness readiness, CancellationToken ct) =>
            await readiness.ProblemAsync(ct) is { } problem
                ? Results.Text($"not ready: {problem}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text("ready\n"));
        app.MapRoadmapApi();
        app.MapRoadmapBoard();
        app.MapInitiativePages();
        return app;
    }
}
