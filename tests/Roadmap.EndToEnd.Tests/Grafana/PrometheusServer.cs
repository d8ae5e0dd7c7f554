using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>
/// A real Prometheus (the Debian package's /usr/bin/prometheus) on a free loopback port with a temp data folder,
/// stopped and removed on dispose.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly StringBuilder _log = new();

    private PrometheusServer(Process process, string dir, Uri url)
    {
        _process = process;
        _dir = dir;
        Url = url;
        Http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri Url { get; }

    public HttpClient Http { get; }

    /// <summary>What Prometheus logged so far, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// Starts Prometheus with <paramref name="configYaml"/> as its config file and waits until it is ready. With
    /// <paramref name="openMetricsHistory"/> (OpenMetrics text with timestamps, ending in <c># EOF</c>) its storage
    /// starts with that history, written into blocks by <c>promtool tsdb create-blocks-from openmetrics</c>.
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(string configYaml, TimeSpan timeout, string? openMetricsHistory = null)
    {
        var dir = Support.TempFolder();
        var config = Path.Combine(dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, configYaml);
        if (openMetricsHistory is not null)
        {
            var history = Path.Combine(dir, "history.om");
            await File.WriteAllTextAsync(history, openMetricsHistory);
            var (exit, output) = await Tools.RunAsync("promtool", dir, "tsdb", "create-blocks-from", "openmetrics", history, Path.Combine(dir, "data"));
            if (exit != 0)
            {
                Directory.Delete(dir, recursive: true);
                throw new InvalidOperationException("promtool could not write the history into blocks:\n" + output);
            }
        }

        var port = Support.FreePort();
        var info = new ProcessStartInfo(Tools.Find("prometheus"))
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--config.file=" + config);
        info.ArgumentList.Add("--storage.tsdb.path=" + Path.Combine(dir, "data"));
        info.ArgumentList.Add("--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--log.level=warn");
        var server = new PrometheusServer(Process.Start(info)!, dir, new Uri($"http://127.0.0.1:{port}"));
        var ready = await Support.EventuallyAsync(
            async () =>
            {
                if (server._process.HasExited)
                {
                    return true; // nothing more to wait for
                }

                using var response = await server.Http.GetAsync(new Uri("/-/ready", UriKind.Relative));
                return response.IsSuccessStatusCode;
            },
            timeout);
        if (!ready || server._process.HasExited)
        {
            var exited = server._process.HasExited ? $"exited with {server._process.ExitCode}" : $"was not ready within {timeout}";
            var log = server.Log;
            await server.DisposeAsync();
            throw new InvalidOperationException($"prometheus {exited}:\n{log}");
        }

        return server;
    }

    /// <summary>GETs an API path and returns the parsed JSON body (whatever the HTTP status: errors have a JSON body too).</summary>
    public async Task<JsonElement> GetJsonAsync(string pathAndQuery)
    {
        using var response = await Http.GetAsync(new Uri(pathAndQuery, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    /// <summary>An instant query: /api/v1/query, now or at <paramref name="at"/>.</summary>
    public Task<JsonElement> QueryAsync(string expr, DateTimeOffset? at = null) =>
        GetJsonAsync("/api/v1/query?query=" + Uri.EscapeDataString(expr)
            + (at is { } t ? "&time=" + t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) : ""));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}

/// <summary>Runs the Prometheus tools the tests need (from the Debian prometheus package).</summary>
internal static class Tools
{
    /// <summary>The full path of an executable on PATH; fails with how to install it when it is missing.</summary>
    public static string Find(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        return path ?? throw new InvalidOperationException(
            $"{name} is not on PATH: install the Debian package prometheus (apt-get install prometheus; scripts/test.sh does it)");
    }

    /// <summary>Runs a tool to completion; returns its exit code and its stdout and stderr together.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string name, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(Find(name))
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
