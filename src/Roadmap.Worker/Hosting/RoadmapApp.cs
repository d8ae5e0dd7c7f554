using Microsoft.AspNetCore.Builder;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Endpoints;

namespace Roadmap.Worker.Hosting;

/// <summary>Builds the service: the web host with every area wired. Used by the run verb and the end-to-end tests.</summary>
public static class RoadmapApp
{
    /// <param name="kinds">The source kinds; default <see cref="Roadmap.Sources.SourceKinds.All"/>.</param>
    public static WebApplication Build(RunOptions options, RoadmapConfig config, RoadmapDatabase database, TimeProvider? time = null, IReadOnlyList<Roadmap.Sources.ISourceKind>? kinds = null)
    {
        time ??= TimeProvider.System;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = Directory.GetCurrentDirectory(),
            Args = [],
        });
        builder.Configuration.AddJsonFile("config/appsettings.json", optional: true);
        var urls = options.Urls
            ?? (Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } ? null : RunOptions.DefaultUrls);
        if (urls is not null)
        {
            builder.WebHost.UseUrls(urls);
        }

        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(config);
        builder.Services
            .AddRoadmapStorage(database, new StorageOptions
            {
                Path = database.Path,
                RawRetention = config.Settings.Retention.Raw,
                RollupRetention = config.Settings.Retention.Rollups,
            })
            .AddRoadmapSources(kinds)
            .AddRoadmapScheduling(config, time)
            .AddRoadmapMetrics()
            .AddRoadmapTelemetry();

        var app = builder.Build();
        app.MapRoadmapEndpoints();
        return app;
    }
}
