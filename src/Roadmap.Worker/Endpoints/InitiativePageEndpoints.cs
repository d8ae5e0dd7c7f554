using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Endpoints;

public static class InitiativePageEndpoints
{
    /// <summary>
    /// <c>/initiatives/{id}?range=7d|30d|quarter</c>: one initiative's page (<see cref="InitiativePage"/>), the history
    /// 30 days unless another range is picked. An unknown id is a 404 page, an unknown range a 400 page; behind the
    /// same auth as the board.
    /// </summary>
    public static IEndpointRouteBuilder MapInitiativePages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/initiatives/{id}", (string id, string? range, RoadmapConfig config, EvaluationService evaluation, IEvaluationStore store, TimeProvider time, HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            var view = CurrentRoadmap.Get(config, evaluation);
            if (view.FindInitiative(id) is not { } initiative)
            {
                // The id is echoed HTML-encoded and cut short.
                var shown = id.Length <= 100 ? id : id[..100] + "…";
                return Page(InitiativePage.Problem("Unknown initiative", $"No initiative has the id \"{shown}\"."), StatusCodes.Status404NotFound);
            }

            if (HistoryRange.Parse(range) is not { } picked)
            {
                return Page(
                    InitiativePage.Problem("Unknown range", $"The range must be one of {string.Join(", ", HistoryRange.All.Select(r => r.Name))}."),
                    StatusCodes.Status400BadRequest);
            }

            var now = time.GetUtcNow();
            var kpis = InitiativePage.Read(store, initiative, picked.StartAt(now, config.Settings.TimeZone), now);
            return Page(InitiativePage.Render(view, initiative, picked, kpis), StatusCodes.Status200OK);
        });
        return app;
    }

    private static IResult Page(string html, int status) => Results.Content(html, "text/html; charset=utf-8", statusCode: status);
}
