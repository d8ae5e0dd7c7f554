using System.Collections.Concurrent;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Sources.Network;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Tests.Reporting;
using Roadmap.Worker.Updates;

namespace Roadmap.Worker.Tests.Updates;

/// <summary>
/// The report fixture's roadmap with <c>settings.updates</c> added, its samples in a real SQLite file, and statuses
/// stored three hours before <see cref="Now"/> that differ from what the samples give at <see cref="Now"/>: uptime
/// was at risk (now met), response time was met (now missed), query time was at risk (still), errors no data (still).
/// Query time's deadline is moved into the next 30 days. The clock starts at <see cref="Start"/>.
/// </summary>
public sealed class UpdateRig : IDisposable
{
    public static readonly DateTimeOffset Now = ReportFixture.Now;

    /// <summary>When the rig's clock starts: two hours before <see cref="Now"/>.</summary>
    public static readonly DateTimeOffset Start = Now - TimeSpan.FromHours(2);

    /// <summary>Quick attempts for tests: three, 10 ms apart, 10 s each (an in-process receiver answers its first request slowly).</summary>
    public static readonly UpdateSendOptions Fast = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10), 64 * 1024);

    private readonly ReportFixture _fixture = new();
    private readonly ConcurrentQueue<string> _logs = new();
    private readonly string _yaml;
    private readonly IReadOnlyDictionary<string, string>? _environment;

    /// <param name="updates">The YAML list under <c>settings.updates</c>, e.g. <c>[{ name: w, cron: "0 0 * * * ?", url: ..., format: json }]</c>.</param>
    /// <param name="settings">More lines under <c>settings</c> (indented two spaces).</param>
    public UpdateRig(string updates, IReadOnlyDictionary<string, string>? environment = null, string settings = "")
    {
        _environment = environment;
        _yaml = ReportFixture.Yaml
            .Replace("settings:\n  evaluateEvery: 2s\n", $"settings:\n  evaluateEvery: 2s\n  updates: {updates}\n{settings}", StringComparison.Ordinal)
            .Replace("deadline: 2027-03-31", "deadline: 2026-12-15", StringComparison.Ordinal);
        Config = Variant(yaml => yaml);
        Current = new CurrentConfig(Config);
        Metrics = new RoadmapMetrics(Prometheus.Metrics.NewCustomRegistry());
        Metrics.Describe(Config);
    }

    public string Dir => _fixture.Dir;

    /// <summary>The rig's config with <paramref name="edit"/> applied to its YAML, loaded.</summary>
    public RoadmapConfig Variant(Func<string, string> edit)
    {
        var loaded = new ConfigLoader(SourceKinds.All, name => _environment?.GetValueOrDefault(name)).Load(edit(_yaml), "shop.yaml");
        Assert.True(loaded.IsValid, string.Join("\n", loaded.ErrorLines()));
        return loaded.Config!;
    }

    public RoadmapConfig Config { get; }

    public CurrentConfig Current { get; }

    public RoadmapMetrics Metrics { get; }

    public FakeTimeProvider Time { get; } = new(Start);

    public RoadmapDatabase? Database { get; private set; }

    public EvaluationService? Evaluation { get; private set; }

    /// <summary>Every log line the schedulers wrote, formatted, with its exception if any.</summary>
    public IReadOnlyCollection<string> Logs => _logs;

    /// <summary>Writes the samples and the earlier statuses, and opens the database.</summary>
    public async Task SeedAsync()
    {
        Database = await _fixture.WriteSamplesAsync();
        using var c = Database.OpenConnection();
        var then = (Now - TimeSpan.FromHours(3)).ToUnixTimeMilliseconds();
        foreach (var (initiative, kpi, status) in new[] { ("cloud", "uptime", "at_risk"), ("cloud", "latency", "met"), ("db-perf", "query-time", "at_risk"), ("db-perf", "errors", "no_data") })
        {
            c.Execute("INSERT INTO evaluations (initiative, kpi, ts, value, target, status, rules) VALUES (@initiative, @kpi, @then, NULL, NULL, @status, 2);", new { initiative, kpi, then, status });
        }
    }

    /// <summary>Opens the database again, as a restarted process does, with a new evaluation service (not yet run).</summary>
    public void Restart()
    {
        Database = RoadmapDatabase.Open(Path.Combine(Dir, "roadmap.db"));
        Evaluation = null;
    }

    /// <summary>A scheduler as the host builds it, on this rig's clock, database and metrics; its evaluation has not run (see <see cref="Evaluate"/>).</summary>
    public (UpdateScheduler Scheduler, UpdateSender Sender) Scheduler(UpdateSendOptions? options = null, RoadmapConfig? config = null)
    {
        var current = config is null ? Current : new CurrentConfig(config);
        Evaluation = new EvaluationService(current, Database!.Samples, Database!.Evaluations, Metrics, Time);
        var sender = new UpdateSender(new NetworkPolicy(current.Value.Settings.Network), options ?? Fast, TimeProvider.System);
        return (new UpdateScheduler(current, Evaluation, Database!.Updates, sender, Metrics, new ClusterMembership(current, "test", () => null, Time), Time, new Recorder<UpdateScheduler>(_logs)), sender);
    }

    /// <summary>
    /// Seeds the database; a scheduler first sees the updates at <see cref="Start"/> (10:00), then checks
    /// <paramref name="checks"/> times at <see cref="Now"/> (12:00), after an evaluation round.
    /// </summary>
    public async Task FireAsync(UpdateSendOptions? options = null, int checks = 1)
    {
        await SeedAsync();
        var (scheduler, sender) = Scheduler(options);
        using (sender)
        {
            await scheduler.RunDueAsync(CancellationToken.None);
            Time.SetUtcNow(Now);
            Evaluate();
            for (var i = 0; i < checks; i++)
            {
                await scheduler.RunDueAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>An evaluation round at the clock's time, as the evaluation job runs it.</summary>
    public void Evaluate() => Evaluation!.EvaluateAll();

    /// <summary>The value of <c>roadmap_update_deliveries_total{update,outcome}</c>.</summary>
    public async Task<double> DeliveriesAsync(string update, string outcome)
    {
        using var stream = new MemoryStream();
        await Metrics.ExportAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith($"roadmap_update_deliveries_total{{update=\"{update}\",outcome=\"{outcome}\"}} ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no series for {update}/{outcome} in:\n{text}");
        return double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => _fixture.Dispose();

    private sealed class Recorder<T>(ConcurrentQueue<string> lines) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
    }
}
