using Microsoft.Extensions.DependencyInjection;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Endpoints;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed class ReadinessTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ProblemAsync_BeforeStartAndAfterStop_NamesWhatIsNotRunning_ReadyInBetween()
    {
        var config = new ConfigLoader(SourceKinds.All).Load("roadmap: { name: R }", "r.yaml").Config!;
        var database = RoadmapDatabase.Open(_dir.File("roadmap.db"));
        await using var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0" }, config, database);
        var readiness = app.Services.GetRequiredService<Readiness>();

        Assert.Equal("the database writer is not running", await readiness.ProblemAsync(CancellationToken.None));

        await app.StartAsync();
        // Quartz starts its scheduler once the application has started: ready follows shortly, not at once.
        string? problem = "not asked yet";
        for (var i = 0; i < 100 && problem is not null; i++)
        {
            problem = await readiness.ProblemAsync(CancellationToken.None);
            if (problem is not null)
            {
                await Task.Delay(100);
            }
        }

        Assert.Null(problem);

        await app.StopAsync();
        Assert.NotNull(await readiness.ProblemAsync(CancellationToken.None));
    }
}
