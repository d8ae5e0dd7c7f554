using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Endpoints;

namespace Roadmap.Worker.Hosting;

/// <summary>Builds the service: the web host with every area wired. Used by the run verb and the end-to-end tests.</summary>
public static class RoadmapApp
{
    /// <param name="kinds">The source kinds; default <see cref="Roadmap.Sources.SourceKinds.All"/>.</param>
    public static WebApplication Build(RunOptions options, RoadmapConfig config, IRoadmapStorage storage, TimeProvider? time = null, IReadOnlyList<Roadmap.Sources.ISourceKind>? kinds = null) =>
        BuildDeferringStorage(options, config, () => storage, time, kinds);

    /// <summary>As <see cref="Build"/>, with storage opened by <paramref name="openStorage"/> once the server listens.</summary>
    /// <param name="openStorage">Opens storage; called once, after the listen address is bound (see <see cref="StorageLifetime"/>).</param>
    /// <param name="kinds">The source kinds; default <see cref="Roadmap.Sources.SourceKinds.All"/>.</param>
    public static WebApplication BuildDeferringStorage(RunOptions options, RoadmapConfig config, Func<IRoadmapStorage> openStorage, TimeProvider? time = null, IReadOnlyList<Roadmap.Sources.ISourceKind>? kinds = null)
    {
        time ??= TimeProvider.System;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = Directory.GetCurrentDirectory(),
            Args = [],
        });
        builder.Configuration.AddLoggingDefaults();
        builder.Configuration.AddJsonFile("config/appsettings.json", optional: true);
        // Environment variables (e.g. Kestrel__Endpoints__Https__Certificate__Path) must win over the file, as they do
        // over the default appsettings.json: added again after it, since a later source wins.
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(options.HostSettings);
        // A start failure (address in use, a database that cannot be opened) is printed by the run verb as one line;
        // the host would first log it at Error with its whole stack on one long line. Its Critical lines stay.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        // Kestrel:Endpoints (TLS certificates included) are read by Kestrel itself and replace any URL; the default
        // loopback URL would only earn a warning that it was overridden.
        var endpointsConfigured = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        var urls = options.Urls
            ?? (Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } || endpointsConfigured ? null : RunOptions.DefaultUrls);
        if (urls is not null)
        {
            builder.WebHost.UseUrls(urls);
        }

        // Checked now, so a bad limit is a startup error naming its key rather than a failure inside Kestrel's start.
        var limits = builder.Configuration.GetSection("Kestrel:Limits");
        var checkedLimits = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions().Limits;
        RequestLimits.Apply(checkedLimits, limits);
        var perClient = RequestLimits.PerClientConnectionCap(limits, checkedLimits.MaxConcurrentConnections ?? RequestLimits.MaxConcurrentConnections);
        var connections = new ClientConnectionCounter();
        builder.WebHost.ConfigureKestrel(k =>
        {
            RequestLimits.Apply(k.Limits, limits);
            // Endpoint defaults reach every endpoint: --urls, ASPNETCORE_URLS and Kestrel:Endpoints alike.
            k.ConfigureEndpointDefaults(listen => listen.UsePerClientConnectionLimit(connections, perClient));
        });

        builder.Services.AddSingleton(time);
        // Two malloc arenas (glibc's default allows 16 on two cores) and a trim a minute: see NativeHeap.
        NativeHeap.TryLimitArenas(2);
        builder.Services.AddHostedService<NativeHeapTrimmer>();
        // Work that holds a pool thread (an evaluation round, a write) must not leave the polls waiting: see ThreadPoolFloor.
        ThreadPoolFloor.Apply();
        builder.Services.AddRoadmapConfig(config);
        builder.Services.AddSingleton(new ConfigVariables(SelfUrl.Variables(SelfUrl.ListenUrls(options.Urls))));
        builder.Services
            .AddRoadmapStorage(openStorage, new StorageOptions
            {
                RawRetention = config.Settings.Retention.Raw,
                RollupRetention = config.Settings.Retention.Rollups,
                Node = options.InstanceId,
            })
            .AddRoadmapSources(kinds)
            .AddRoadmapScheduling(config, time, options.InstanceId)
            .AddRoadmapMetrics()
            .AddRoadmapTelemetry()
            .AddRoadmapUpdates()
            .AddRoadmapConfigReload();
        // Results.Problem writes through ASP.NET's JSON options, whose native build has no reflection to fall back on.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ProblemJsonContext.Default));

        var app = builder.Build();
        app.UseRequestBodyLimit();
        app.UseRoadmapAuth(config.Settings.Auth);
        app.MapRoadmapEndpoints();
        var exposure = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ExposureWarning).FullName!);
        app.Lifetime.ApplicationStarted.Register(() => ExposureWarning.Check(exposure, app.Urls, config.Settings.Auth is not null));
        return app;
    }
}
