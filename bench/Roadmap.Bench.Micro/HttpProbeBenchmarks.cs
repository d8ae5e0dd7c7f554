using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Sources.Http;

namespace Roadmap.Bench.Micro;

/// <summary>One http probe (fresh connection, guarded connect) against a minimal local listener that answers 200 "ok".</summary>
[MemoryDiagnoser]
public class HttpProbeBenchmarks
{
    private static readonly byte[] Answer = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nok\n"u8.ToArray();
    private readonly CancellationTokenSource _stop = new();
    private TcpListener _listener = null!;
    private HttpSource _source = null!;
    private HttpSource _sourceWithBody = null!;

    [GlobalSetup]
    public void Setup()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(1024);
        _ = Task.Run(ServeAsync);
        var url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        var context = new SourceContext(TimeProvider.System, NullLoggerFactory.Instance);
        _source = new HttpSource(Config(new HttpProbeOptions(url, "GET", new Dictionary<string, string>(), [], null)), context);
        _sourceWithBody = new HttpSource(Config(new HttpProbeOptions(url, "GET", new Dictionary<string, string>(), [], "ok")), context);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _listener.Stop();
    }

    [Benchmark(Baseline = true)]
    public async Task<bool> Probe() => (await _source.PollAsync(CancellationToken.None)).Success;

    [Benchmark]
    public async Task<bool> ProbeBodyContains() => (await _sourceWithBody.PollAsync(CancellationToken.None)).Success;

    private static SourceConfig Config(HttpProbeOptions options) =>
        new("bench", "http", new PollSchedule(TimeSpan.FromSeconds(1), null), TimeSpan.FromSeconds(5), options, ["up", "latency_seconds", "status_code"]);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (socket)
                {
                    var buffer = new byte[4096];
                    var seen = 0;
                    // Read until the end of the request head, then answer and close.
                    while (true)
                    {
                        var n = await socket.ReceiveAsync(buffer.AsMemory(seen), SocketFlags.None);
                        if (n == 0)
                        {
                            return;
                        }

                        seen += n;
                        if (buffer.AsSpan(0, seen).IndexOf("\r\n\r\n"u8) >= 0 || seen == buffer.Length)
                        {
                            break;
                        }
                    }

                    await socket.SendAsync(Answer, SocketFlags.None);
                    socket.Shutdown(SocketShutdown.Both);
                }
            });
        }
    }
}
