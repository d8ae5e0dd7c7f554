using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Roadmap.EndToEnd.Tests.Board;

/// <summary>
/// One headless Chromium (<see cref="Chromium"/>'s flags) driven over the DevTools protocol on a loopback port: a
/// viewport of a given size, every request the page makes, layout and computed styles read by the test's own
/// expressions (the page itself runs no script), and screenshots. Killed on dispose.
/// </summary>
internal sealed partial class DevTools : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly ConcurrentQueue<(string Method, JsonElement Params)> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private DevTools(Process process) => _process = process;

    /// <summary>Starts Chromium on about:blank and attaches to its page.</summary>
    /// <param name="mobile">Emulate a phone: touch-sized viewport that honours the page's viewport meta.</param>
    public static async Task<DevTools> StartAsync(string profile, int width, int height, bool mobile)
    {
        var info = new ProcessStartInfo(Chromium.Executable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in Chromium.Common(profile).Concat(["--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--window-size={width},{height}", "about:blank"]))
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        var tools = new DevTools(process);
        try
        {
            var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stderr = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }

                if (Listening().Match(e.Data) is { Success: true } m)
                {
                    listening.TrySetResult(m.Groups[1].Value);
                }
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var browser = await listening.Task.WaitAsync(Chromium.Timeout);
            var port = new Uri(browser).Port;
            using var http = new HttpClient();
            string? page = null;
            for (var attempt = 0; page is null && attempt < 100; attempt++)
            {
                var targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json/list")))!.AsArray();
                page = targets.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
                if (page is null)
                {
                    await Task.Delay(100);
                }
            }

            Assert.True(page is not null, $"chromium shows no page target; stderr:\n{stderr}");
            await tools._socket.ConnectAsync(new Uri(page!), CancellationToken.None);
            tools._receiving = Task.Run(tools.ReceiveAsync);
            await tools.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = mobile });
            await tools.SendAsync("Network.enable", new JsonObject());
            await tools.SendAsync("Page.enable", new JsonObject());
            return tools;
        }
        catch
        {
            await tools.DisposeAsync();
            throw;
        }
    }

    /// <summary>Loads <paramref name="url"/>, waits for its load event, and returns the URL of every request it made.</summary>
    public async Task<IReadOnlyList<string>> NavigateAsync(string url)
    {
        _events.Clear();
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        var deadline = Stopwatch.StartNew();
        while (!_events.Any(e => e.Method == "Page.loadEventFired"))
        {
            Assert.True(deadline.Elapsed < Chromium.Timeout, $"{url} did not load within {Chromium.Timeout.TotalSeconds} s");
            await Task.Delay(50);
        }

        return _events.Where(e => e.Method == "Network.requestWillBeSent").Select(e => e.Params.GetProperty("request").GetProperty("url").GetString()!).ToList();
    }

    /// <summary>Evaluates a JavaScript expression in the page (the test's, not the page's) and returns its value as JSON.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (result.TryGetProperty("exceptionDetails", out var error))
        {
            Assert.Fail($"the test's expression threw: {error}");
        }

        return result.GetProperty("result").GetProperty("value").Clone();
    }

    /// <summary>A PNG of the viewport.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result.GetProperty("data").GetString()!);
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString();
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var reply = await answer.Task.WaitAsync(Chromium.Timeout);
        if (reply.TryGetProperty("error", out var error))
        {
            Assert.Fail($"{method} failed: {error}");
        }

        return reply.GetProperty("result");
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage)
                {
                    continue;
                }

                using (var doc = JsonDocument.Parse(message.ToArray()))
                {
                    var root = doc.RootElement.Clone();
                    if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var answer))
                    {
                        answer.TrySetResult(root);
                    }
                    else if (root.TryGetProperty("method", out var method))
                    {
                        _events.Enqueue((method.GetString()!, root.TryGetProperty("params", out var p) ? p : default));
                    }
                }

                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Closed by dispose, or Chromium went away: pending calls time out with their method named.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        await _receiving.ConfigureAwait(false);
        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _stop.Dispose();
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Listening();
}
