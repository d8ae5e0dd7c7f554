using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;
using Roadmap.Sources.Tests.DnsProbe;

namespace Roadmap.EndToEnd.Tests;

/// <summary>
/// The tcp and dns kinds through the real executable: a config with both validates, <c>check</c> polls them, and their
/// signals reach KPIs on <c>/metrics</c>. The servers are a loopback TCP listener that answers PING with +PONG and
/// the DNS server of the dns kind's tests.
/// </summary>
public sealed class SocketProbesEndToEndTests : IAsyncLifetime
{
    private readonly string _dir = Support.TempFolder();
    private readonly TcpListener _tcp = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly DnsTestServer _dns = new((q, _) => [DnsWire.Response(q, [DnsWire.ARecord("10.0.0.5")])]);
    private Task _serving = Task.CompletedTask;

    public Task InitializeAsync()
    {
        _tcp.Start();
        _serving = ServePongAsync();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Stop();
        await _serving;
        await _dns.DisposeAsync();
        _stop.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string Config => $$"""
        roadmap: { name: Socket probes }
        settings: { evaluateEvery: 1s }
        sources:
          - id: cache-port
            kind: tcp
            every: 1s
            timeout: 900ms
            address: 127.0.0.1:{{((IPEndPoint)_tcp.LocalEndpoint).Port}}
            send: "PING\r\n"
            expect: ^\+PONG$
          - id: resolver
            kind: dns
            every: 1s
            timeout: 900ms
            server: 127.0.0.1:{{_dns.Port}}
            name: shop.example.com
            expect: { answer: '10\.0\.0\.5' }
        initiatives:
          - id: platform
            name: Platform
            kpis:
              - { id: port-uptime, source: cache-port, signal: up, window: 1h, target: ">= 99%" }
              - { id: dns-uptime, source: resolver, signal: up, window: 1h, target: ">= 99%" }
              - { id: dns-answers, source: resolver, signal: answer_count, aggregate: last, window: 1h, target: ">= 1" }
        """;

    [Fact]
    public async Task ValidateCheckAndRun_TcpAndDnsSources_PollAndFeedTheirKpis()
    {
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, Config);

        var validate = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "validate", "--config", config);
        Assert.True(validate.ExitCode == 0, validate.Stdout + validate.Stderr);

        var check = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "check", "--config", config);
        Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);
        Assert.Matches(@"(?m)^cache-port\s+tcp\s+ok\s+[0-9.]+ms\s+up=1 connect_seconds=[0-9.e-]+\s*$", check.Stdout);
        Assert.Matches(@"(?m)^resolver\s+dns\s+ok\s+[0-9.]+ms\s+up=1 lookup_seconds=[0-9.e-]+ answer_count=1\s*$", check.Stdout);

        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await using var run = WorkerProcess.Start(_dir, "run", "--config", config, "--database", Path.Combine(_dir, "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");
        var metrics = "";
        var judged = await Support.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
                return new[] { "port-uptime", "dns-uptime", "dns-answers" }.All(k => Support.Value(metrics, "roadmap_kpi_value", ("kpi", k)) is not null);
            },
            TimeSpan.FromSeconds(60));

        Assert.True(judged, $"no KPI values within 60 s; stderr:\n{run.Stderr}\nmetrics:\n{metrics}");
        Assert.True(Support.Value(metrics, "roadmap_kpi_value", ("kpi", "port-uptime")) == 1, run.Stdout + run.Stderr);
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_value", ("kpi", "dns-uptime")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_value", ("kpi", "dns-answers")));
        Assert.NotNull(Support.Value(metrics, "roadmap_signal_value", ("source", "cache-port"), ("signal", "connect_seconds")));
        Assert.NotNull(Support.Value(metrics, "roadmap_signal_value", ("source", "resolver"), ("signal", "lookup_seconds")));
        Assert.Contains(_dns.Queries, q => !q.Tcp);
        run.Terminate();
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    private async Task ServePongAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _tcp.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        try
                        {
                            var stream = client.GetStream();
                            var buffer = new byte[6];
                            await stream.ReadExactlyAsync(buffer, _stop.Token);
                            if (Encoding.ASCII.GetString(buffer) == "PING\r\n")
                            {
                                await stream.WriteAsync("+PONG\r\n"u8.ToArray(), _stop.Token);
                            }
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
                        {
                            // The probe went away, or the test ended.
                        }
                    }
                });
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped.
        }
    }
}
