using Microsoft.Data.Sqlite;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests;

/// <summary>The real executable reloading its config: an invalid file, SIGHUP, and a plain file change.</summary>
public sealed class ConfigReloadTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _dir = Support.TempFolder();
    private readonly WireMockServer _service = WireMockServer.Start();

    public ConfigReloadTests()
    {
        _service.Given(Request.Create().WithPath("/ok")).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
    }

    public void Dispose()
    {
        _service.Stop();
        _service.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string Source(string id, string every) => $"""
          - id: {id}
            kind: http
            every: {every}
            url: "{_service.Url}/ok"

        """;

    private static string Config(params string[] sources) => $"""
        roadmap: {"{"} name: Reload {"}"}
        settings: {"{"} evaluateEvery: 1s {"}"}
        sources:
        {string.Concat(sources)}
        """;

    private static async Task ReplaceAsync(string path, string yaml)
    {
        // As editors save: a temporary file renamed over the config.
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, yaml);
        File.Move(temp, path, overwrite: true);
    }

    private static double Polls(string metrics, string source) =>
        Support.Value(metrics, "roadmap_source_polls_total", ("source", source), ("outcome", "success")) ?? 0;

    private static double? Reloads(string metrics, string result) =>
        Support.Value(metrics, "roadmap_config_reloads_total", ("result", result));

    /// <param name="launcher">A command the worker runs under (e.g. <c>nohup</c>); none by default.</param>
    private (WorkerProcess Process, HttpClient Http) Start(string config, params string[] launcher)
    {
        var port = Support.FreePort();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var process = WorkerProcess.StartWithLauncher(
            _dir, launcher, new Dictionary<string, string?>(), "--config", config, "--database", Path.Combine(_dir, "data", "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");
        return (process, http);
    }

    [Fact]
    public async Task Run_StartedUnderNohup_StillReloadsOnSighup()
    {
        // nohup starts the process with SIGHUP ignored, and an ignored signal stays ignored across exec: the handler
        // never ran, so kill -HUP did nothing.
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, Config(Source("a", "200ms")));
        var (p, http) = Start(config, "nohup");
        await using var _ = p;
        using var __ = http;
        Assert.True(
            await Support.EventuallyAsync(async () => Polls(await http.GetStringAsync("/metrics"), "a") >= 1, Patience),
            $"no polls; stdout:\n{p.Stdout}\nstderr:\n{p.Stderr}");

        p.Hangup();

        Assert.True(
            await Support.EventuallyAsync(() => Task.FromResult(p.Stdout.Contains("(SIGHUP)", StringComparison.Ordinal)), Patience),
            $"no reload after SIGHUP under nohup; stdout:\n{p.Stdout}");
        Assert.False(p.HasExited, "SIGHUP must not end the process");
    }

    [Fact]
    public async Task Run_InvalidConfigWrittenOverTheRunningOne_KeepsPollingAndLogsEveryErrorWithFileLineColumn()
    {
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, Config(Source("a", "200ms")));
        var (p, http) = Start(config);
        await using var _ = p;
        using var __ = http;
        var metrics = "";
        Assert.True(
            await Support.EventuallyAsync(async () => Polls(metrics = await http.GetStringAsync("/metrics"), "a") >= 3, Patience),
            $"no polls; stdout:\n{p.Stdout}\nstderr:\n{p.Stderr}");
        Assert.Equal(1, Support.Value(metrics, "roadmap_config_last_reload_successful"));

        // Line 6 column 12 is the bad duration; the unknown key line 7 column 5.
        await ReplaceAsync(config, Config(Source("a", "2x").Replace("    url:", "    color: red\n    url:", StringComparison.Ordinal)));

        Assert.True(
            await Support.EventuallyAsync(async () => Reloads(metrics = await http.GetStringAsync("/metrics"), "failure") == 1, Patience),
            $"no failed reload; stdout:\n{p.Stdout}");
        Assert.Equal(0, Support.Value(metrics, "roadmap_config_last_reload_successful"));
        Assert.Equal(0, Reloads(metrics, "success"));
        var before = Polls(metrics, "a");
        Assert.True(
            await Support.EventuallyAsync(async () => Polls(await http.GetStringAsync("/metrics"), "a") >= before + 3, Patience),
            "the old config's source stopped polling after an invalid reload");
        Assert.Contains($"{config}:6:12: sources[a].every: bad duration \"2x\"", p.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{config}:7:5: sources[a].color: unknown key \"color\"", p.Stdout, StringComparison.Ordinal);
        Assert.Contains("the running config is kept", p.Stdout, StringComparison.Ordinal);
        Assert.False(p.HasExited);
    }

    [Fact]
    public async Task Run_Sighup_AddsRemovesAndReschedulesSources()
    {
        // A change the file's stamp cannot show (the same size, its modification time put back), so only the signal
        // can reload it: the look at the file every second must not be what reloads here.
        var config = Path.Combine(_dir, "roadmap.yaml");
        var before = Config(Source("keep", "200ms"), Source("drop", "200ms"), Source("slow", "1h"));
        var after = Config(Source("keep", "200ms"), Source("slow", "200ms"), Source("new", "200ms"));
        (before, after) = (Pad(before, after.Length), Pad(after, before.Length));
        Assert.Equal(before.Length, after.Length);
        await File.WriteAllTextAsync(config, before);
        var written = File.GetLastWriteTimeUtc(config);
        var (p, http) = Start(config);
        await using var _ = p;
        using var __ = http;
        var metrics = "";
        Assert.True(
            await Support.EventuallyAsync(async () => Polls(metrics = await http.GetStringAsync("/metrics"), "drop") >= 3 && Polls(metrics, "slow") == 1, Patience),
            $"no polls; stdout:\n{p.Stdout}\nstderr:\n{p.Stderr}");

        // The content and the old modification time go in through one handle, a write call and then the time: the
        // service looks at the file once a second, and a look between two separate steps (the file written and closed,
        // then its time put back) saw the new time and reloaded without the signal.
        using (var handle = File.OpenHandle(config, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(handle, System.Text.Encoding.UTF8.GetBytes(after), 0);
            File.SetLastWriteTimeUtc(handle, written);
        }

        Assert.Equal(written, File.GetLastWriteTimeUtc(config));
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        metrics = await http.GetStringAsync("/metrics");
        Assert.Equal(0, Reloads(metrics, "success"));
        Assert.Equal(1, Polls(metrics, "slow"));

        p.Hangup();

        Assert.True(
            await Support.EventuallyAsync(
                async () =>
                {
                    metrics = await http.GetStringAsync("/metrics");
                    // up is the newest poll's: on a loaded CI machine one 200 ms probe can time out, so the new source
                    // has to be up at some scrape, not at the first that counts three polls.
                    return Polls(metrics, "new") >= 3 && Polls(metrics, "slow") >= 3 && !metrics.Contains("source=\"drop\"", StringComparison.Ordinal)
                        && Support.Value(metrics, "roadmap_source_up", ("source", "new")) == 1;
                },
                Patience),
            $"reload not applied; metrics:\n{metrics}\nstdout:\n{p.Stdout}");
        Assert.Equal(1, Reloads(metrics, "success"));
        Assert.Equal(1, Support.Value(metrics, "roadmap_config_last_reload_successful"));
        Assert.True(Polls(metrics, "keep") >= 3);
        Assert.Contains("(SIGHUP): sources added: new; removed: drop; changed: slow; 1 unchanged", p.Stdout, StringComparison.Ordinal);
        Assert.False(p.HasExited, "SIGHUP must not end the process");
    }

    [Fact]
    public async Task Run_ConfigFileChanged_ReloadsWithoutASignal()
    {
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, Config(Source("a", "200ms")));
        var (p, http) = Start(config);
        await using var _ = p;
        using var __ = http;
        var metrics = "";
        Assert.True(
            await Support.EventuallyAsync(async () => Polls(metrics = await http.GetStringAsync("/metrics"), "a") >= 1, Patience),
            $"no polls; stdout:\n{p.Stdout}\nstderr:\n{p.Stderr}");
        var loadedAt = Support.Value(metrics, "roadmap_config_last_reload_success_timestamp_seconds");

        await File.WriteAllTextAsync(config, Config(Source("a", "200ms"), Source("b", "200ms")));

        Assert.True(
            await Support.EventuallyAsync(async () => Polls(metrics = await http.GetStringAsync("/metrics"), "b") >= 1, Patience),
            $"the change was not picked up; stdout:\n{p.Stdout}");
        Assert.Equal(1, Reloads(metrics, "success"));
        Assert.True(Support.Value(metrics, "roadmap_config_last_reload_success_timestamp_seconds") > loadedAt);
        Assert.Contains("(file change): sources added: b; removed: none; changed: none; 1 unchanged", p.Stdout, StringComparison.Ordinal);
    }

    /// <summary>The config padded with a blank or comment line to <paramref name="length"/> characters, if shorter.</summary>
    private static string Pad(string config, int length) => (length - config.Length) switch
    {
        <= 0 => config,
        1 => config + "\n",
        var more => config + "#" + new string('x', more - 2) + "\n",
    };
}
