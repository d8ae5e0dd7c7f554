using Microsoft.AspNetCore.Builder;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

/// <summary>The whole service from <see cref="RoadmapApp.Build"/> on a free loopback port, over a temp SQLite file; stopped on dispose.</summary>
internal sealed class RunningHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempFolder _dir;

    private RunningHost(WebApplication app, TempFolder dir)
    {
        _app = app;
        _dir = dir;
        Address = new Uri(app.Urls.First());
    }

    /// <summary>The first address the host listens on, e.g. http://127.0.0.1:41234.</summary>
    public Uri Address { get; }

    /// <param name="yaml">The roadmap config; a name-only roadmap by default.</param>
    /// <param name="settings">Host settings (e.g. Kestrel:Limits:...), laid over appsettings and the environment.</param>
    /// <param name="urls">Listen URLs; none when the settings name Kestrel endpoints.</param>
    public static async Task<RunningHost> StartAsync(string yaml = "roadmap: { name: R }", IReadOnlyDictionary<string, string?>? settings = null, string? urls = "http://127.0.0.1:0")
    {
        var result = new ConfigLoader(SourceKinds.All).Load(yaml, "r.yaml");
        Assert.True(result.Config is not null, string.Join("\n", result.Errors));
        var dir = new TempFolder();
        var database = RoadmapDatabase.Open(dir.File("roadmap.db"));
        var app = RoadmapApp.Build(new RunOptions { Urls = urls, HostSettings = settings ?? new Dictionary<string, string?>() }, result.Config!, database);
        await app.StartAsync();
        return new RunningHost(app, dir);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _dir.Dispose();
    }
}
