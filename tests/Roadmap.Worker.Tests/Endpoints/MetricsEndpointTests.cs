using Microsoft.AspNetCore.Http;
using Roadmap.Worker.Endpoints;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed class MetricsEndpointTests
{
    [Theory]
    // What Prometheus 2.x sends: OpenMetrics preferred.
    [InlineData("application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", null, true)]
    // Text preferred by quality, whatever the order.
    [InlineData("application/openmetrics-text;q=0.4,text/plain;q=0.9", null, false)]
    // curl, a browser, nothing said: text.
    [InlineData("", null, false)]
    [InlineData("*/*", null, false)]
    [InlineData("text/html,application/xhtml+xml,*/*;q=0.8", null, false)]
    // Garbage is skipped, not fatal: what can be parsed still counts.
    [InlineData(";;;,==,application/openmetrics-text", null, true)]
    [InlineData("\u0001\u0002 not a media type", null, false)]
    // The accept query parameter overrides the header (prometheus-net's convention, for a browser's URL bar).
    [InlineData("text/plain", "application/openmetrics-text", true)]
    [InlineData("application/openmetrics-text", "text/plain", false)]
    public void PrefersOpenMetrics_AcceptHeaderAndQuery_PickTheFormat(string accept, string? query, bool expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Accept = accept;
        if (query is not null)
        {
            context.Request.QueryString = QueryString.Create("accept", query);
        }

        Assert.Equal(expected, MetricsEndpoint.PrefersOpenMetrics(context.Request));
    }
}
