using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Endpoints;

/// <summary>
/// /metrics: what <see cref="RoadmapMetrics.ExportAsync"/> writes, in the format the scraper asks for. The same
/// negotiation as prometheus-net's own endpoint: OpenMetrics when the Accept header (or an <c>accept</c> query
/// parameter) prefers it to text/plain, else the Prometheus text format.
/// </summary>
public static class MetricsEndpoint
{
    public static IEndpointConventionBuilder MapRoadmapMetrics(this IEndpointRouteBuilder app, RoadmapMetrics metrics) =>
        app.Map("/metrics", async context =>
        {
            var openMetrics = PrefersOpenMetrics(context.Request);
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = openMetrics
                ? PrometheusConstants.OpenMetricsContentTypeWithVersionAndEncoding
                : PrometheusConstants.TextContentTypeWithVersionAndEncoding;
            try
            {
                await metrics.ExportAsync(response.Body, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, context.RequestAborted);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The scraper went away; nothing to tell it.
            }
        });

    /// <summary>Whether the request's most preferred known media type is OpenMetrics.</summary>
    internal static bool PrefersOpenMetrics(HttpRequest request)
    {
        var accept = request.Query.TryGetValue("accept", out var fromQuery) ? string.Join(",", fromQuery.Select(v => v ?? "")) : request.Headers.Accept.ToString();
        var types = accept.Split(',')
            .Select(c => MediaTypeWithQualityHeaderValue.TryParse(c, out var type) ? type : null)
            .OfType<MediaTypeWithQualityHeaderValue>()
            .OrderByDescending(t => t.Quality ?? 1);
        foreach (var type in types)
        {
            if (type.MediaType == PrometheusConstants.TextContentType)
            {
                return false;
            }

            if (type.MediaType == PrometheusConstants.OpenMetricsContentType)
            {
                return true;
            }
        }

        return false;
    }
}
