using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

/// <summary>What <c>settings.storage</c> and <c>--database</c> become in the options the writer runs with.</summary>
public sealed class StorageChoiceTests
{
    private static RoadmapConfig Config(string storage)
    {
        var loaded = new ConfigLoader(SourceKinds.All, name => name == "ROADMAP_PG" ? "Host=127.0.0.1;Database=r;Username=r;Password=p" : null)
            .Load($"roadmap: {{ name: x }}\nsettings:\n{storage}\n", "t.yaml");
        Assert.True(loaded.IsValid, string.Join('\n', loaded.Errors));
        return loaded.Config!;
    }

    [Theory]
    [InlineData("  storage: { flushEvery: 5s }", StorageKind.Sqlite)]
    [InlineData("  storage: { kind: postgres, connectionString: \"${ROADMAP_PG}\", flushEvery: 5s }", StorageKind.Postgres)]
    public void Options_FlushEvery_IsTheWritersFlushInterval(string storage, StorageKind kind)
    {
        var options = StorageChoice.Options(Config(storage), databasePath: null, out var problem);

        Assert.Null(problem);
        Assert.Equal(kind, options.Kind);
        Assert.Equal(TimeSpan.FromSeconds(5), options.FlushInterval);
    }

    [Fact]
    public void Options_NoFlushEvery_IsHalfASecond()
    {
        var options = StorageChoice.Options(Config("  evaluateEvery: 15s"), "x.db", out _);

        Assert.Equal("x.db", options.Path);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.FlushInterval);
    }
}
