using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Tests.Reporting;

/// <summary>
/// A known roadmap and a real SQLite file in a temp folder with known samples, judged at <see cref="Now"/>: every
/// KPI status but on_track (which needs hours of history), a blocked initiative, a planned one, and names that need
/// escaping in markdown and HTML.
/// </summary>
public sealed class ReportFixture : IDisposable
{
    public static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public const string Yaml = """
        roadmap:
          name: Shop | platform
          vision: Fast and safe.
          goals:
            - { id: scale, title: Scale up }
        settings:
          evaluateEvery: 2s
        sources:
          - { id: web, kind: http, url: "http://127.0.0.1:1/healthz" }
          - { id: db, kind: http, url: "http://127.0.0.1:1/db" }
        initiatives:
          - id: cloud
            name: Migrate <script>alert(1)</script> | cloud
            goal: scale
            timeline: 2026-Q4
            status: in-progress
            owner: platform-team
            details: Move to EC2 | S3.
            dependsOn: [db-perf]
            risks:
              - { risk: Downtime, mitigation: Blue-green cut-over }
              - { risk: Data loss, mitigation: Checksums }
            kpis:
              - { id: uptime, name: System uptime, source: web, signal: up, aggregate: avg, window: 1h, target: ">= 99.9%", unit: ratio }
              - { id: latency, name: Response time, source: web, signal: latency_seconds, aggregate: p95, window: 1h, target: "<= 0.3", unit: seconds }
          - id: db-perf
            name: Optimize database performance
            timeline: { start: 2026-10-01, due: 2027-03-31 }
            owner: data-team
            kpis:
              - { id: query-time, name: Database query time, source: db, signal: latency_seconds, aggregate: p95, window: 1h, target: "<= 0.05", unit: seconds, deadline: 2027-03-31 }
              - { id: errors, source: db, signal: status_code, aggregate: last, window: 1h, target: "== 200" }
          - id: security
            name: Implement enhanced security
            timeline: 2027-Q2
            dependsOn: [cloud]
            risks:
              - { risk: Breach }
        """;

    public ReportFixture()
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(Yaml, "shop.yaml");
        Assert.Empty(loaded.Errors);
        Config = loaded.Config!;
    }

    private readonly TempFolder _folder = new();

    public string Dir => _folder.Path;

    public string DatabasePath => _folder.File("roadmap.db");

    public RoadmapConfig Config { get; }

    public FakeTimeProvider Time { get; } = new(Now);

    /// <summary>Three polls of each source in the last half hour: web up (1) but slow (0.5 s), db at 0.1 s with no status code.</summary>
    public async Task<RoadmapDatabase> WriteSamplesAsync()
    {
        var database = RoadmapDatabase.Open(DatabasePath);
        // The samples are judged at Now, a fixed date: a compactor on the system clock would find their day long closed
        // and seal it (dropping its hour rollups), which a service running at Now would not do yet.
        var options = new StorageOptions { Path = DatabasePath, CompactGrace = TimeSpan.FromDays(3650) };
        var writer = new BatchedWriter(database, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        foreach (var minutes in new[] { 30, 20, 10 })
        {
            var ts = (Now - TimeSpan.FromMinutes(minutes)).ToUnixTimeMilliseconds();
            Assert.True(writer.TryEnqueue(new PollRecord("web", ts, 0.5, true, null, [new SignalSample("up", 1), new SignalSample("latency_seconds", 0.5)])));
            Assert.True(writer.TryEnqueue(new PollRecord("db", ts, 0.1, false, "connection refused", [new SignalSample("latency_seconds", 0.1)])));
        }

        await writer.FlushAsync();
        await writer.DisposeAsync();
        return database;
    }

    /// <summary>The service's evaluator on the database, at <see cref="Time"/>.</summary>
    public EvaluationService Evaluation(RoadmapDatabase database) =>
        new(Config, database.Samples, database.Evaluations, new RoadmapMetrics(Metrics.NewCustomRegistry()), Time);

    public void Dispose() => _folder.Dispose();
}
