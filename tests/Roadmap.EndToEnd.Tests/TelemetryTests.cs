using System.Net;
using System.Net.Sockets;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests;

/// <summary>OpenTelemetry export from the real process: on with OTEL_EXPORTER_OTLP_ENDPOINT, off without it.</summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly string _dir = Support.TempFolder();
    private readonly WireMockServer _target = WireMockServer.Start();

    public TelemetryTests() =>
        _target.Given(Request.Create().WithPath("/ok")).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));

    public void Dispose()
    {
        _target.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string WriteConfig()
    {
        var config = Path.Combine(_dir, "roadmap.yaml");
        File.WriteAllText(config, $$"""
            roadmap: { name: Telemetry }
            settings: { evaluateEvery: 1s }
            sources:
              - { id: web, kind: http, every: 500ms, url: "{{_target.Url}}/ok" }
            initiatives:
              - id: i
                name: I
                kpis:
                  - { id: uptime, source: web, signal: up, window: 1h, target: ">= 99%" }
            """);
        return config;
    }

    [Fact]
    public async Task Run_WithOtlpEndpoint_ExportsPollSpansAndRoadmapMeters()
    {
        using var collector = WireMockServer.Start();
        collector.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var environment = new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        };

        await using var p = WorkerProcess.Start(_dir, environment, "--config", WriteConfig(), "--database", Path.Combine(_dir, "r.db"), "--urls", $"http://127.0.0.1:{Support.FreePort()}");

        bool Received(string path, string content) => collector.LogEntries.Any(e =>
            e.RequestMessage.Path == path && e.RequestMessage.BodyAsBytes is { } body
            && System.Text.Encoding.Latin1.GetString(body).Contains(content, StringComparison.Ordinal));
        var exported = await Support.EventuallyAsync(
            () => Task.FromResult(Received("/v1/traces", "poll web") && Received("/v1/traces", "roadmap.poll.outcome") && Received("/v1/metrics", "roadmap.source.polls")),
            TimeSpan.FromSeconds(30));

        Assert.True(exported, $"no poll span or Roadmap meter reached the collector; paths seen: {string.Join(", ", collector.LogEntries.Select(e => e.RequestMessage.Path).Distinct())}\nstderr:\n{p.Stderr}");
    }

    [Fact]
    public async Task Run_WithoutOtlpEndpoint_SendsNothingToTheDefaultOtlpPort()
    {
        // The OTLP exporter's default endpoint is localhost:4318 (http) / 4317 (grpc): listen there and see nothing.
        using var http = new TcpListener(IPAddress.Loopback, 4318);
        using var grpc = new TcpListener(IPAddress.Loopback, 4317);
        http.Start();
        grpc.Start();
        var environment = new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null, ["OTEL_BSP_SCHEDULE_DELAY"] = "200", ["OTEL_METRIC_EXPORT_INTERVAL"] = "500" };
        var port = Support.FreePort();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        await using var p = WorkerProcess.Start(_dir, environment, "--config", WriteConfig(), "--database", Path.Combine(_dir, "r.db"), "--urls", $"http://127.0.0.1:{port}");
        var polled = await Support.EventuallyAsync(
            async () => Support.Value(await client.GetStringAsync("/metrics"), "roadmap_source_polls_total", ("source", "web"), ("outcome", "success")) >= 4,
            TimeSpan.FromSeconds(30));
        Assert.True(polled, "the service did not poll:\n" + p.Stderr);
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.False(http.Pending(), "something connected to the default OTLP http port");
        Assert.False(grpc.Pending(), "something connected to the default OTLP grpc port");
    }
}
