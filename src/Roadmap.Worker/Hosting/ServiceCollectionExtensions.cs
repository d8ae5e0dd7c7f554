using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Quartz;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Sources.Network;
using Roadmap.Storage;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Endpoints;
using Roadmap.Worker.Events;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Scheduling;
using Roadmap.Worker.Telemetry;
using Roadmap.Worker.Updates;

namespace Roadmap.Worker.Hosting;

/// <summary>The wiring, one method per area: poll, store, evaluate, export.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The config: <see cref="CurrentConfig"/>, which a reload replaces. <see cref="RoadmapConfig"/> itself resolves to
    /// the current value at the moment it is resolved — right for a request handler (one config per request), wrong for
    /// a singleton, which must take <see cref="CurrentConfig"/> and read <see cref="CurrentConfig.Value"/> as it goes.
    /// </summary>
    public static IServiceCollection AddRoadmapConfig(this IServiceCollection services, RoadmapConfig config)
    {
        services.AddSingleton(new CurrentConfig(config));
        services.AddTransient(sp => sp.GetRequiredService<CurrentConfig>().Value);
        return services;
    }

    /// <summary>
    /// Config reload on SIGHUP and on file change (<see cref="ConfigReloader"/>); registered after the scheduling, so
    /// no reload runs before the start's schedules are in place.
    /// </summary>
    public static IServiceCollection AddRoadmapConfigReload(this IServiceCollection services)
    {
        services.AddSingleton<ConfigReloader>();
        services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        return services;
    }

    /// <summary>
    /// Storage, by its interfaces only: the opened store, its sample reader and evaluation store, and the one batched
    /// writer (started and stopped by the host). Which backend it is was decided when it was opened. Storage is opened
    /// by <paramref name="openStorage"/> when first needed, which <see cref="StorageLifetime"/> makes after the listen
    /// address is bound: a start that cannot listen creates no database file.
    /// </summary>
    /// <param name="openStorage">Opens storage; called once.</param>
    /// <param name="options">The storage options; their <see cref="StorageOptions.Path"/> is set to the opened store's location.</param>
    public static IServiceCollection AddRoadmapStorage(this IServiceCollection services, Func<IRoadmapStorage> openStorage, StorageOptions options)
    {
        services.AddSingleton(_ => openStorage());
        services.AddSingleton(sp =>
        {
            options.Path = sp.GetRequiredService<IRoadmapStorage>().Location;
            return options;
        });
        services.AddSingleton(sp => sp.GetRequiredService<IRoadmapStorage>().Samples);
        // History appends go through the writer's own connection (WriterEvaluationStore): on SQLite another
        // connection's commit would cost the writer its page cache.
        services.AddSingleton<IEvaluationStore>(sp => new WriterEvaluationStore(sp.GetRequiredService<IRoadmapStorage>().Evaluations, sp.GetRequiredService<IPollWriter>()));
        services.AddSingleton<IPollWriter>(sp => new BatchedWriter(sp.GetRequiredService<IRoadmapStorage>(), sp.GetRequiredService<StorageOptions>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<BatchedWriter>>()));
        // Registered before Quartz, so it stops after Quartz: queued polls are flushed last.
        services.AddHostedService<StorageLifetime>();
        return services;
    }

    /// <summary>Sources: one live source per config entry, created by its kind (<see cref="SourceKinds.All"/> unless given).</summary>
    public static IServiceCollection AddRoadmapSources(this IServiceCollection services, IReadOnlyList<ISourceKind>? kinds = null)
    {
        var registry = new SourceKindRegistry(kinds ?? SourceKinds.All);
        services.AddSingleton(registry);
        // One poll boundary for the host: every poll goes through it, and its log rate limit spans them all.
        services.AddSingleton(sp => new PollGuard(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PollGuard>>()));
        services.AddSingleton(sp =>
        {
            var config = sp.GetRequiredService<CurrentConfig>().Value;
            var context = new SourceContext(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(), new NetworkPolicy(config.Settings.Network));
            return new SourcePool(config.Sources.Select(s => registry.Get(s.Kind).Create(s, context)));
        });
        return services;
    }

    /// <summary>Scheduling: Quartz with one poll job per source and the evaluation job, on the injected clock.</summary>
    /// <param name="node">This process's instance id (<see cref="RunOptions.InstanceId"/>).</param>
    public static IServiceCollection AddRoadmapScheduling(this IServiceCollection services, RoadmapConfig config, TimeProvider time, string node)
    {
        // Asked by every poll and evaluation round; outside cluster mode it answers that this process does everything.
        services.AddSingleton(sp => new ClusterMembership(
            sp.GetRequiredService<CurrentConfig>(),
            node,
            () => sp.GetRequiredService<IRoadmapStorage>().Cluster,
            time));
        services.AddSingleton(sp => new SnapshotSharing(
            sp.GetRequiredService<EvaluationService>(),
            sp.GetRequiredService<ClusterMembership>(),
            () => sp.GetRequiredService<IRoadmapStorage>().Cluster,
            sp.GetRequiredService<ILogger<SnapshotSharing>>()));

        services.AddQuartz(q =>
        {
            q.UseTimeProvider(time);
            // One PollJob for every poll, not a job and a DI scope per firing (PollJobFactory).
            q.UseJobFactory<PollJobFactory>();
            // Polls are I/O bound: let every source run at once rather than queue behind slow ones.
            q.UseDefaultThreadPool(tp => tp.MaxConcurrency = Math.Clamp(config.Sources.Count + 2, 10, 2000));
            // Every source starts at the same instant, so thousands of triggers share a fire time. Acquired one at a
            // time, the scheduler thread takes a lock and a round trip per trigger and the last of 2,000 starts late;
            // in batches it hands them to the pool together. No fire-ahead window: nothing is fired before its time.
            q.ConfigureScheduler(s => s.MaxBatchSize = Math.Clamp(config.Sources.Count / 10, 1, 200));
        });
        services.AddQuartzHostedService(o =>
        {
            o.WaitForJobsToComplete = true;
            // No poll before the listen address is bound and storage is open (StorageLifetime): a start that fails
            // to listen polls nothing and stores nothing.
            o.AwaitApplicationStarted = true;
        });
        services.AddHostedService<ScheduleRegistrar>();
        if (config.Settings.Cluster.Enabled)
        {
            services.AddRoadmapCluster(config, time, node);
        }

        services.AddSingleton<Readiness>();
        // The board's sparklines: the stored evaluations kept in memory, read incrementally.
        services.AddSingleton<KpiTrails>();
        // Loaded in the background once storage is open (after the bind), so no board request waits for them.
        services.AddSingleton<KpiTrailsWarmUp>();
        services.AddHostedService<AfterApplicationStarted<KpiTrailsWarmUp>>();
        return services;
    }

    /// <summary>
    /// Cluster mode: a second, clustered Quartz scheduler on the same PostgreSQL carrying only the claim triggers (the
    /// per-source polls stay on the in-memory scheduler: Quartz's database store fires about a hundred triggers a
    /// second, not thousands), the membership's metrics and the service that joins, refreshes and hands over.
    /// Configured in code with the provider factory and the job type registered, so the native build needs no reflection.
    /// </summary>
    private static IServiceCollection AddRoadmapCluster(this IServiceCollection services, RoadmapConfig config, TimeProvider time, string node)
    {
        var cluster = config.Settings.Cluster;
        var (provider, connection) = StorageBackends.ClusterJobStore(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = config.Settings.Storage.ConnectionString });
        services.AddQuartz(ClusterService.SchedulerName, q =>
        {
            q.UseTimeProvider(time);
            q.ConfigureScheduler(s => s.InstanceId = node);
            q.UseDefaultThreadPool(tp => tp.MaxConcurrency = 4);
            q.UsePersistentStore(s =>
            {
                s.UsePostgres(provider, connection);
                s.UseClustering(c =>
                {
                    c.CheckinInterval = cluster.CheckinInterval;
                    c.CheckinMisfireThreshold = cluster.FailoverAfter;
                });
                s.ProvisionSchema();
            });
            q.AddJobType<ClaimJob>();
        });
        // A graceful stop polls the windows it owns to their end (an evaluation window too) before Quartz and the writer
        // stop: the host's default 30 s could cut it short.
        services.Configure<HostOptions>(o =>
        {
            var handOver = ClusterService.HandOverAtMost(cluster, config.Settings.EvaluateEvery);
            o.ShutdownTimeout = handOver + TimeSpan.FromSeconds(20) > o.ShutdownTimeout ? handOver + TimeSpan.FromSeconds(20) : o.ShutdownTimeout;
        });
        services.AddSingleton<ClusterMetrics>();
        services.AddHostedService<ClusterService>();
        return services;
    }

    /// <summary>
    /// OpenTelemetry: spans for polls and evaluations plus HttpClient spans, and Roadmap's meters, exported over OTLP
    /// only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the other standard OTEL_* variables itself).
    /// Without it no tracer or meter provider is built at all: a sampled span and a metric point for every probe's
    /// HttpClient call that no exporter ever sends cost measurable CPU at thousands of probes a second.
    /// </summary>
    public static IServiceCollection AddRoadmapTelemetry(this IServiceCollection services) =>
        services.AddRoadmapTelemetry(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));

    /// <summary>As <see cref="AddRoadmapTelemetry(IServiceCollection)"/>, with the OTLP endpoint given (null or blank: none).</summary>
    public static IServiceCollection AddRoadmapTelemetry(this IServiceCollection services, string? otlpEndpoint)
    {
        // The instruments always exist (PollJob records into them); with nobody listening they are no-ops.
        services.AddSingleton<RoadmapTelemetry>();
        if (string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("roadmap", serviceVersion: typeof(RoadmapTelemetry).Assembly.GetName().Version?.ToString(3)))
            .WithTracing(t => t.AddSource(RoadmapTelemetry.Name).AddHttpClientInstrumentation())
            .WithMetrics(m => m.AddMeter(RoadmapTelemetry.Name).AddHttpClientInstrumentation())
            .UseOtlpExporter();
        return services;
    }

    /// <summary>Evaluation and export: the evaluator service and the Prometheus registry with every Roadmap metric.</summary>
    public static IServiceCollection AddRoadmapMetrics(this IServiceCollection services)
    {
        services.AddSingleton(sp => new EvaluationService(
            sp.GetRequiredService<CurrentConfig>(),
            sp.GetRequiredService<ISampleReader>(),
            sp.GetRequiredService<IEvaluationStore>(),
            sp.GetRequiredService<IRoadmapEvents>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<EvaluationService>>()));
        services.AddSingleton(sp =>
        {
            var registry = Metrics.NewCustomRegistry();
            ProcessMetrics.Register(registry);
            var metrics = new RoadmapMetrics(registry);
            metrics.Describe(sp.GetRequiredService<CurrentConfig>().Value);
            // Resolved at the first scrape, not here: the exporter exists before storage is opened (see AddRoadmapStorage).
            registry.AddBeforeCollectCallback(() => metrics.CollectStorage(sp.GetRequiredService<IPollWriter>()));
            return metrics;
        });
        // The exporter is the listener of what the poll job, the evaluation and the reload tell.
        services.AddSingleton<IRoadmapEvents>(sp => sp.GetRequiredService<RoadmapMetrics>());
        return services;
    }

    /// <summary>
    /// The scheduled updates (<c>settings.updates</c>): their store, the sender (through the network policy the service
    /// started with, like the sources) and the scheduler, on a task of its own.
    /// </summary>
    public static IServiceCollection AddRoadmapUpdates(this IServiceCollection services)
    {
        services.AddSingleton(sp => sp.GetRequiredService<IRoadmapStorage>().Updates);
        services.AddSingleton(sp => new UpdateSender(
            new NetworkPolicy(sp.GetRequiredService<CurrentConfig>().Value.Settings.Network),
            UpdateSendOptions.Default,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<UpdateScheduler>();
        // It needs storage (and the evaluation) in its constructor: started after the bind, like storage itself.
        services.AddHostedService<AfterApplicationStarted<UpdateScheduler>>();
        return services;
    }
}
