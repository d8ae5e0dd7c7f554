using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Hosting;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Reporting.Svg;
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

    [Fact]
    public async Task Board_DuringASlowTrailsWarmUp_AnswersWithTrendsLoadingAndDrawsTheSparklinesOnceItIsDone()
    {
        var database = await _f.WriteSamplesAsync();
        database.Evaluations.Append(Enumerable.Range(1, 5)
            .Select(n => new KpiEvaluation("cloud", "uptime", ReportFixture.Now.AddMinutes(-10 * n), 0.99 + (n / 1000.0), 0.999, false, KpiStatus.AtRisk, null, 1, "test"))
            .ToList());
        using var store = new GatedEvaluationStore(database.Evaluations);
        // A cold start on a slow disk: the warm-up's read of the stored history waits until the test lets it go on.
        store.Close();
        await using var host = await ApiHost.StartAsync(_f, database, services =>
        {
            services.AddSingleton<IEvaluationStore>(store);
            // Started as the service starts it (after the application has started), on the config in force.
            services.AddSingleton(sp => new KpiTrailsWarmUp(
                new CurrentConfig(_f.Config), sp.GetRequiredService<KpiTrails>(), _f.Time, NullLogger<KpiTrailsWarmUp>.Instance));
            services.AddHostedService<AfterApplicationStarted<KpiTrailsWarmUp>>();
        });
        await store.Entered.WaitAsync(TimeSpan.FromMinutes(1));

        // Bounded only so a board that waits for the warm-up fails instead of hanging: the gate stays shut until it answered.
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var loading = await host.Http.GetStringAsync(new Uri("/", UriKind.Relative), bound.Token);
        store.Open();
        await host.Services.GetRequiredService<KpiTrails>().Load(_f.Config, ReportFixture.Now).WaitAsync(TimeSpan.FromMinutes(1));
        var drawn = await host.Http.GetStringAsync(new Uri("/", UriKind.Relative));

        // The table is there; each KPI says its trend is loading, none is drawn; the request started no second read.
        Assert.Contains("<tr id=\"initiative-cloud\"", loading);
        Assert.Contains($"<span class=\"spark-empty\" data-trend=\"uptime\" data-trend-loading=\"true\">{BoardVisuals.TrendLoading}</span>", loading);
        Assert.DoesNotContain("<svg class=\"spark\"", loading);
        Assert.Equal(1, store.ThinnedCalls + store.SinceFromZeroCalls);
        // Once the warm-up is done: the sparklines, and nothing loading.
        Assert.Contains("<svg class=\"spark\" data-trend=\"uptime\"", drawn);
        Assert.DoesNotContain(BoardVisuals.TrendLoading, drawn);
        Assert.Equal(1, store.ThinnedCalls + store.SinceFromZeroCalls);
    }
}
