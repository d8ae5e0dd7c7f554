namespace Roadmap.Sources.Tests.Prometheus;

/// <summary>
/// A real Prometheus (the Debian package's /usr/bin/prometheus) on a free loopback port, with its TSDB in a temp
/// directory, scraping itself every second. Killed and its directory deleted at the end of the test class.
/// </summary>
public sealed class PrometheusServerFixture : IAsyncLifetime
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("roadmap-prometheus-");
    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    /// <summary>What the server logged, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Binary), $"{Binary} is not installed (apt-get install prometheus)");
        var port = FreePort();
        Url = new Uri($"http://127.0.0.1:{port}");
        var config = Path.Combine(_directory.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: prometheus
                static_configs:
                  - targets: ["127.0.0.1:{port}"]
            """);

        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory.FullName,
        };
        foreach (var argument in new[]
        {
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(_directory.FullName, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Log(e.Data);
        _process.ErrorDataReceived += (_, e) => Log(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_process.HasExited, $"prometheus exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"prometheus was not ready after 30s:\n{Output}");
            try
            {
                using var ready = await client.GetAsync(new Uri(Url, "/-/ready"));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Listening, not answering yet.
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        _directory.Delete(recursive: true);
    }

    private void Log(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
