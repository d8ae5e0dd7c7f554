using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Hosting;
using Roadmap.Worker.Scheduling;

namespace Roadmap.Worker.Tests.Hosting;

/// <summary>A source kind that counts polls and disposals per source id. Its one key, label, is part of its options.</summary>
internal sealed class CountingKind : ISourceKind
{
    public ConcurrentDictionary<string, int> Polls { get; } = new();

    public ConcurrentDictionary<string, int> Disposals { get; } = new();

    public string Kind => "counting";

    public object Bind(ConfigSection section) => new CountingOptions(section.Text("label"));

    public IReadOnlyList<string> Signals(object options) => ["value"];

    public ISource Create(SourceConfig config, SourceContext context) => new Counting(config, this);

    public int PollsOf(string id) => Polls.GetValueOrDefault(id);

    public sealed record CountingOptions(string? Label);

    private sealed class Counting(SourceConfig config, CountingKind kind) : ISource
    {
        public SourceConfig Config => config;

        public ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
        {
            kind.Polls.AddOrUpdate(config.Id, 1, (_, n) => n + 1);
            return ValueTask.FromResult(PollResult.Ok([new Sample("value", 1)], TimeSpan.FromMilliseconds(1)));
        }

        public ValueTask DisposeAsync()
        {
            kind.Disposals.AddOrUpdate(config.Id, 1, (_, n) => n + 1);
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>The service host with reload on: the file is rewritten the way editors do, and what runs follows it.</summary>
public sealed partial class ConfigReloaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private string ConfigPath => _dir.File("roadmap.yaml");

    public void Dispose() => _dir.Dispose();

    private static string Config(string sources, string kpis) => $$"""
        roadmap: { name: Reload }
        settings: { evaluateEvery: 1h }
        sources:
        {{sources}}
        initiatives:
          - id: i
            name: I
            kpis:
        {{kpis}}
        """;

    // Hourly polls: the only polls in a test run are the first one and those a reload causes.
    private const string V1 = """
          - { id: kept, kind: counting, every: 1h }
          - { id: gone, kind: counting, every: 1h }
          - { id: changed, kind: counting, every: 1h }
        """;

    private const string V1Kpis = """
              - { id: kept-kpi, source: kept, signal: value, window: 1h, target: ">= 1" }
              - { id: gone-kpi, source: gone, signal: value, window: 1h, target: ">= 1" }
        """;

    private const string V2 = """
          - { id: kept, kind: counting, every: 1h }
          - { id: changed, kind: counting, every: 2h }
          - { id: added, kind: counting, every: 1h }
        """;

    private const string V2Kpis = """
              - { id: kept-kpi, source: kept, signal: value, window: 1h, target: ">= 1" }
              - { id: added-kpi, source: added, signal: value, window: 1h, target: ">= 1" }
        """;

    private async Task ReplaceConfigAsync(string yaml)
    {
        var temp = ConfigPath + ".tmp";
        await File.WriteAllTextAsync(temp, yaml);
        File.Move(temp, ConfigPath, overwrite: true);
    }

    /// <summary>The service host on config V1 (not started), with a counting kind next to the real ones.</summary>
    private async Task<(WebApplication App, CountingKind Kind)> BuildAsync()
    {
        var kind = new CountingKind();
        var kinds = new List<ISourceKind>(SourceKinds.All) { kind };
        await File.WriteAllTextAsync(ConfigPath, Config(V1, V1Kpis));
        var loaded = new ConfigLoader(kinds).LoadFile(ConfigPath);
        var database = RoadmapDatabase.Open(_dir.File("roadmap.db"));
        return (RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0" }, loaded.Config!, database, kinds: kinds), kind);
    }

    private static async Task<string> ScrapeAsync(RoadmapMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.ExportAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static double? Value(string text, string series) => Exposition.Find(text, series);

    private static async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 150; i++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return await condition();
    }

    [Fact]
    public async Task Reload_SourcesAddedRemovedChangedAndAnInvalidFile_AppliesEachWithoutTouchingUnchangedSources()
    {
        var kind = new CountingKind();
        var kinds = new List<ISourceKind>(SourceKinds.All) { kind };
        await File.WriteAllTextAsync(ConfigPath, Config(V1, V1Kpis));
        var loaded = new ConfigLoader(kinds).LoadFile(ConfigPath);
        Assert.Empty(loaded.Errors);
        var database = RoadmapDatabase.Open(_dir.File("roadmap.db"));
        await using var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0" }, loaded.Config!, database, kinds: kinds);
        var metrics = app.Services.GetRequiredService<RoadmapMetrics>();
        var current = app.Services.GetRequiredService<CurrentConfig>();
        await app.StartAsync();
        var text = "";
        Assert.True(
            await Eventually(async () =>
            {
                text = await ScrapeAsync(metrics);
                return kind.PollsOf("changed") == 1 && text.Contains("roadmap_kpi_met{initiative=\"i\",kpi=\"gone-kpi\"}", StringComparison.Ordinal);
            }),
            "no first polls and evaluation:\n" + text);
        Assert.Equal(1, Value(text, "roadmap_config_last_reload_successful"));
        Assert.Contains("source=\"gone\"", text, StringComparison.Ordinal);

        // A valid change: gone and its KPI removed, added and its KPI added, changed polled every 2h instead of 1h.
        await ReplaceConfigAsync(Config(V2, V2Kpis));

        Assert.True(
            await Eventually(async () =>
            {
                text = await ScrapeAsync(metrics);
                return kind.PollsOf("added") == 1 && kind.PollsOf("changed") == 2
                    && text.Contains("roadmap_kpi_met{initiative=\"i\",kpi=\"added-kpi\"}", StringComparison.Ordinal)
                    && !text.Contains("gone", StringComparison.Ordinal);
            }),
            $"reload not applied; polls: {string.Join(", ", kind.Polls)}\n{text}");
        Assert.Equal(1, Value(text, "roadmap_config_reloads_total{result=\"success\"}"));
        Assert.Equal(0, Value(text, "roadmap_config_reloads_total{result=\"failure\"}"));
        Assert.Equal(1, Value(text, "roadmap_config_last_reload_successful"));
        Assert.Equal(1, kind.Disposals.GetValueOrDefault("gone"));
        // The changed source's old instance is disposed; the new one polls.
        Assert.Equal(1, kind.Disposals.GetValueOrDefault("changed"));
        Assert.Equal(TimeSpan.FromHours(2), current.Value.FindSource("changed")!.Schedule.Every);
        Assert.Equal(1, Value(text, "roadmap_source_polls_total{source=\"added\",kind=\"counting\",outcome=\"success\"}"));
        Assert.Equal(1, kind.PollsOf("kept"));
        Assert.Equal(0, kind.Disposals.GetValueOrDefault("kept"));
        Assert.Equal(1, Value(text, "roadmap_source_polls_total{source=\"kept\",kind=\"counting\",outcome=\"success\"}"));
        var successAt = Value(text, "roadmap_config_last_reload_success_timestamp_seconds");

        // An invalid file: the running config stays, every error is counted as one failed reload.
        await ReplaceConfigAsync(Config(V2.Replace("every: 2h", "every: 2x", StringComparison.Ordinal), V2Kpis));

        Assert.True(
            await Eventually(async () => Value(await ScrapeAsync(metrics), "roadmap_config_reloads_total{result=\"failure\"}") == 1),
            "the invalid file was not reloaded");
        text = await ScrapeAsync(metrics);
        Assert.Equal(0, Value(text, "roadmap_config_last_reload_successful"));
        Assert.Equal(successAt, Value(text, "roadmap_config_last_reload_success_timestamp_seconds"));
        Assert.Equal(TimeSpan.FromHours(2), current.Value.FindSource("changed")!.Schedule.Every);
        Assert.Equal(["added", "changed", "kept"], app.Services.GetRequiredService<SourcePool>().All.Select(s => s.Config.Id).Order());
        Assert.Equal(1, kind.PollsOf("kept"));

        await app.StopAsync();
    }

    [Fact]
    public async Task ReloadAsync_InvalidFile_ReturnsFalseAndKeepsTheRunningConfig()
    {
        var (app, _) = await BuildAsync();
        await using var disposeApp = app;
        var reloader = app.Services.GetRequiredService<ConfigReloader>();
        var current = app.Services.GetRequiredService<CurrentConfig>();
        var running = current.Value;
        await File.WriteAllTextAsync(ConfigPath, "roadmap: { name: Broken }\nsources:\n  - { id: x, kind: nope }\n");

        Assert.False(await reloader.ReloadAsync("test", CancellationToken.None));

        Assert.Same(running, current.Value);
        var text = await ScrapeAsync(app.Services.GetRequiredService<RoadmapMetrics>());
        Assert.Equal(0, Value(text, "roadmap_config_last_reload_successful"));
        Assert.Equal(1, Value(text, "roadmap_config_reloads_total{result=\"failure\"}"));
    }

    [Fact]
    public async Task ReloadAsync_InvalidThenValidFile_RecordsTheFailureWithItsFirstErrorsThenClearsIt()
    {
        var (app, _) = await BuildAsync();
        await using var disposeApp = app;
        var reloader = app.Services.GetRequiredService<ConfigReloader>();
        var current = app.Services.GetRequiredService<CurrentConfig>();
        Assert.Null(current.LastReload);
        // Seven unknown kinds: seven errors, of which the first five are kept.
        var broken = "roadmap: { name: Broken }\nsources:\n" + string.Concat(Enumerable.Range(1, 7).Select(n => $"  - {{ id: x{n}, kind: nope }}\n"));
        await File.WriteAllTextAsync(ConfigPath, broken);

        Assert.False(await reloader.ReloadAsync("test", CancellationToken.None));

        var failed = Assert.IsType<ConfigReload>(current.LastReload);
        Assert.False(failed.Success);
        Assert.Equal(ConfigPath, failed.File);
        Assert.Equal(7, failed.ErrorCount);
        Assert.Equal(ConfigReload.MaxErrors, failed.Errors.Count);
        Assert.StartsWith($"{ConfigPath}:3:", failed.Errors[0], StringComparison.Ordinal);
        Assert.Contains("sources[x1].kind", failed.Errors[0], StringComparison.Ordinal);

        await File.WriteAllTextAsync(ConfigPath, Config(V2, V2Kpis));
        Assert.True(await reloader.ReloadAsync("test", CancellationToken.None));

        var succeeded = Assert.IsType<ConfigReload>(current.LastReload);
        Assert.True(succeeded.Success);
        Assert.Empty(succeeded.Errors);
        Assert.True(succeeded.At >= failed.At);
    }

    /// <summary>
    /// A FIFO, a sparse gigabyte and an alias bomb in place of the config: each once hung the reload (and every later
    /// one, and SIGTERM) or took gigabytes. Each must fail, count as a failed reload and leave the service running on
    /// the config it had, so that a good file after them is still applied and the host still stops.
    /// </summary>
    [Fact]
    public async Task Reload_FifoHugeFileAndAliasBomb_EachFailsKeepsTheRunningConfigAndLaterReloadsWork()
    {
        var (app, kind) = await BuildAsync();
        await using var disposeApp = app;
        var metrics = app.Services.GetRequiredService<RoadmapMetrics>();
        var current = app.Services.GetRequiredService<CurrentConfig>();
        var running = current.Value;
        await app.StartAsync();
        Assert.True(await Eventually(() => Task.FromResult(kind.PollsOf("changed") == 1)), "no first poll");

        var failures = 0;
        async Task AssertFailedAsync(string what)
        {
            failures++;
            Assert.True(
                await Eventually(async () => Value(await ScrapeAsync(metrics), "roadmap_config_reloads_total{result=\"failure\"}") == failures),
                $"{what}: no failed reload counted");
            var text = await ScrapeAsync(metrics);
            Assert.Equal(0, Value(text, "roadmap_config_last_reload_successful"));
            Assert.Same(running, current.Value);
        }

        File.Delete(ConfigPath);
        Roadmap.Core.Tests.Config.Fifo.Create(ConfigPath);
        await AssertFailedAsync("FIFO");

        var huge = ConfigPath + ".huge";
        using (var file = new FileStream(huge, FileMode.CreateNew))
        {
            file.SetLength(1L << 30);
        }

        File.Move(huge, ConfigPath, overwrite: true);
        await AssertFailedAsync("sparse gigabyte");

        await ReplaceConfigAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "testdata", "invalid", "alias-bomb.yaml")));
        await AssertFailedAsync("alias bomb");

        await ReplaceConfigAsync(Config(V2, V2Kpis));
        Assert.True(
            await Eventually(async () => Value(await ScrapeAsync(metrics), "roadmap_config_last_reload_successful") == 1 && kind.PollsOf("added") == 1),
            "the good file after the bad ones was not applied");
        Assert.Equal(failures, Value(await ScrapeAsync(metrics), "roadmap_config_reloads_total{result=\"failure\"}"));

        await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
