using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Hosting;
using Roadmap.Worker.Reporting;

namespace Roadmap.EndToEnd.Tests.Board;

/// <summary>
/// The real host on a free loopback port over a database the test filled first: polls through the real writer and
/// evaluations through the store. Stopped, and its folder deleted, on dispose.
/// </summary>
internal sealed class BoardHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;

    private BoardHost(WebApplication app, RoadmapDatabase database, string dir)
    {
        _app = app;
        _dir = dir;
        Database = database;
        Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/";
    }

    /// <summary>The board's URL, ending in "/".</summary>
    public string Url { get; }

    public RoadmapDatabase Database { get; }

    /// <summary>Six hours of a KPI's history, every 30 minutes, falling by 0.5 an hour to about 200, judged on track.</summary>
    public static IReadOnlyCollection<KpiEvaluation> FallingHistory(string initiative, string kpi, DateTimeOffset now) =>
        Enumerable.Range(0, 12)
            .Select(n => new KpiEvaluation(initiative, kpi, now - TimeSpan.FromHours(6) + TimeSpan.FromMinutes(30 * n), 203 - (0.25 * n), 150, false, KpiStatus.OnTrack, null, 3, "history"))
            .ToList();

    /// <param name="dir">The folder of the database (and the test's scratch), deleted on dispose.</param>
    public static async Task<BoardHost> StartAsync(string yaml, string dir, IEnumerable<PollRecord> polls, IReadOnlyCollection<KpiEvaluation> history)
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(yaml, "board.yaml");
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var path = Path.Combine(dir, "roadmap.db");
        var database = RoadmapDatabase.Open(path);
        var writer = new BatchedWriter(database, new StorageOptions { Path = path }, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        foreach (var poll in polls)
        {
            Assert.True(writer.TryEnqueue(poll));
        }

        await writer.FlushAsync();
        await writer.DisposeAsync();
        database.Evaluations.Append(history);

        var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0", DatabasePath = path }, loaded.Config!, database);
        await app.StartAsync();
        // The host loads the board's trails in the background at start; the tests look at the board once they are in
        // memory (before, it says "trend loading" instead of drawing the sparklines).
        var config = app.Services.GetRequiredService<CurrentConfig>().Value;
        await app.Services.GetRequiredService<KpiTrails>().Load(config, TimeProvider.System.GetUtcNow()).WaitAsync(TimeSpan.FromMinutes(1));
        return new BoardHost(app, database, dir);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
