using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Endpoints;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Events;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Hosting;
using Roadmap.Worker.Tests.Reporting;

namespace Roadmap.Worker.Tests.Endpoints;

/// <summary>
/// Targets come only from the config: no endpoint takes one (unlike blackbox_exporter's /probe?target=), so a request
/// cannot make the worker connect anywhere — the SSRF that a target parameter would open.
/// </summary>
public sealed class NoTargetEndpointsTests : IDisposable
{
    private static readonly string[] TargetWords = ["target", "url", "uri", "host", "address", "module"];

    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<WebApplication> StartAsync(RoadmapDatabase database)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(_f.Time);
        builder.Services.AddSingleton(_f.Config);
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(database.Samples);
        builder.Services.AddSingleton(database.Evaluations);
        builder.Services.AddSingleton(new RoadmapMetrics(Metrics.NewCustomRegistry()));
        builder.Services.AddSingleton<IRoadmapEvents>(sp => sp.GetRequiredService<RoadmapMetrics>());
        builder.Services.AddSingleton<EvaluationService>();
        // Registered so /readyz binds; without a writer and scheduler it answers 500, which is beside the point here.
        builder.Services.AddSingleton<Readiness>();
        var app = builder.Build();
        app.MapRoadmapEndpoints();
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task EveryEndpoint_TargetInTheQuery_MakesNoOutboundConnection()
    {
        // A port that would record any connection: nobody accepts, so a completed connect waits in its backlog.
        using var watched = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        watched.Start();
        var target = Uri.EscapeDataString($"http://127.0.0.1:{((System.Net.IPEndPoint)watched.LocalEndpoint).Port}/");
        var app = await StartAsync(await _f.WriteSamplesAsync());
        await using var _ = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var paths = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + string.Join('/', e.RoutePattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p is Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart l ? l.Content : "x")))))
            .Append("/probe")
            .Distinct()
            .ToList();

        Assert.Contains("/metrics", paths);
        foreach (var path in paths)
        {
            using var response = await http.GetAsync(new Uri($"{path}?target={target}&url={target}&module=http_2xx", UriKind.Relative));
        }

        using var probe = await http.GetAsync(new Uri($"/probe?target={target}", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, probe.StatusCode);
        Assert.False(watched.Pending(), "a request made the worker connect to the target it named");
    }

    [Fact]
    public async Task EveryEndpoint_Handler_TakesNoTargetParameter()
    {
        var app = await StartAsync(await _f.WriteSamplesAsync());
        await using var _ = app;
        var handlers = app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => e.Metadata.GetMetadata<MethodInfo>())
            .OfType<MethodInfo>()
            .ToList();

        Assert.NotEmpty(handlers);
        Assert.All(handlers, h => Assert.DoesNotContain(h.GetParameters(), p => TargetWords.Contains(p.Name, StringComparer.OrdinalIgnoreCase)));
    }
}
