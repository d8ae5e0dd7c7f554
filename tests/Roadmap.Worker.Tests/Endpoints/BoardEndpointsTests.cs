using System.Net;
using Roadmap.Worker.Tests.Reporting;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed class BoardEndpointsTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Board_Get_IsTheHtmlTableRefreshingEvery5SecondsAtLeastAndNeverCached()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());

        using var response = await host.Http.GetAsync(new Uri("/", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.True(response.Headers.CacheControl?.NoStore);
        // settings.evaluateEvery is 2s: the page reloads no faster than every 5 s.
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"5\">", html);
        Assert.Contains("<time datetime=\"2026-11-26T12:00:00Z\">", html);
        Assert.Contains("<span class=\"name\"><a href=\"/initiatives/cloud\">Migrate &lt;script&gt;alert(1)&lt;/script&gt; | cloud</a></span>", html);
        Assert.Contains("<a href=\"/api/roadmap\">/api/roadmap</a>", html);
    }
}
