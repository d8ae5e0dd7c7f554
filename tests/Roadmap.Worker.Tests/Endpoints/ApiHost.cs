using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Endpoints;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Events;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Tests.Reporting;

namespace Roadmap.Worker.Tests.Endpoints;

/// <summary>
/// Kestrel on a free loopback port with the API, the board and the initiative pages over the fixture's database, on its fake clock. No
/// scheduler: the KPIs are judged when a test (or the first request) asks.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiHost(WebApplication app, HttpClient http)
    {
        _app = app;
        Http = http;
    }

    public HttpClient Http { get; }

    public EvaluationService Evaluation => _app.Services.GetRequiredService<EvaluationService>();

    public IEvaluationStore Store => _app.Services.GetRequiredService<IEvaluationStore>();

    public IServiceProvider Services => _app.Services;

    /// <param name="configure">Registrations after the host's own (a later registration of a service wins).</param>
    public static async Task<ApiHost> StartAsync(ReportFixture f, RoadmapDatabase database, Action<IServiceCollection>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(f.Time);
        builder.Services.AddSingleton(f.Config);
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(database.Samples);
        builder.Services.AddSingleton(database.Evaluations);
        builder.Services.AddSingleton(new RoadmapMetrics(Metrics.NewCustomRegistry()));
        builder.Services.AddSingleton<IRoadmapEvents>(sp => sp.GetRequiredService<RoadmapMetrics>());
        builder.Services.AddSingleton<EvaluationService>();
        builder.Services.AddSingleton<KpiTrails>();
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapRoadmapApi();
        app.MapRoadmapBoard();
        app.MapInitiativePages();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ApiHost(app, new HttpClient { BaseAddress = new Uri(address) });
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
