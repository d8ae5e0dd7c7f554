using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Tests.Configuration;

public sealed class ConfigDiffTests
{
    private const string Base = """
        roadmap: { name: R }
        settings: { evaluateEvery: 15s, timezone: UTC }
        sources:
          - { id: web, kind: http, every: 15s, url: "http://127.0.0.1:1/", headers: { X-A: "1" }, expect: { status: [200, 204] } }
          - { id: nightly, kind: http, cron: "0 0 3 * * ?", url: "http://127.0.0.1:2/" }
          - { id: stats, kind: json, url: "http://127.0.0.1:3/", signals: { bounce_rate: $.a.b } }
        """;

    private static RoadmapConfig Load(string yaml)
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(yaml, "r.yaml");
        Assert.Empty(loaded.Errors);
        return loaded.Config!;
    }

    [Fact]
    public void Between_SameFileLoadedTwice_EverySourceUnchanged()
    {
        // Two loads hold equal lists in different instances: a record's own Equals would call them all changed.
        var diff = ConfigDiff.Between(Load(Base), Load(Base));

        Assert.Empty(diff.Added);
        Assert.Empty(diff.Removed);
        Assert.Empty(diff.Changed);
        Assert.Equal(["web", "nightly", "stats"], diff.Unchanged);
        Assert.Empty(diff.NeedRestart);
        Assert.False(diff.EvaluateEveryChanged);
    }

    [Theory]
    [InlineData("every: 15s", "every: 30s", "web")]
    [InlineData("url: \"http://127.0.0.1:1/\"", "url: \"http://127.0.0.1:9/\"", "web")]
    [InlineData("X-A: \"1\"", "X-A: \"2\"", "web")]
    [InlineData("status: [200, 204]", "status: [200]", "web")]
    [InlineData("every: 15s,", "every: 15s, timeout: 2s,", "web")]
    [InlineData("0 0 3 * * ?", "0 0 4 * * ?", "nightly")]
    [InlineData("$.a.b", "$.a.c", "stats")]
    [InlineData("timezone: UTC", "timezone: Europe/Berlin", "nightly")]
    public void Between_OneDifference_OnlyThatSourceChanged(string from, string to, string changed)
    {
        var next = Base.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(Base, next);

        var diff = ConfigDiff.Between(Load(Base), Load(next));

        Assert.Equal([changed], diff.Changed.Select(c => c.Next.Id));
        Assert.Equal(new[] { "web", "nightly", "stats" }.Where(id => id != changed), diff.Unchanged);
        Assert.Empty(diff.Added);
        Assert.Empty(diff.Removed);
    }

    [Fact]
    public void Between_SourceAddedAndRemoved_ListsEachAndTheRestUnchanged()
    {
        var next = Base
            .Replace("  - { id: nightly, kind: http, cron: \"0 0 3 * * ?\", url: \"http://127.0.0.1:2/\" }\n", "", StringComparison.Ordinal)
            + "\n  - { id: api, kind: http, url: \"http://127.0.0.1:4/\" }\n";

        var diff = ConfigDiff.Between(Load(Base), Load(next));

        Assert.Equal(["api"], diff.Added.Select(s => s.Id));
        Assert.Equal(["nightly"], diff.Removed.Select(s => s.Id));
        Assert.Empty(diff.Changed);
        Assert.Equal(["web", "stats"], diff.Unchanged);
    }

    [Fact]
    public void Between_StorageChanged_NeedsRestartAndNamesNoSecret()
    {
        var next = new ConfigLoader(SourceKinds.All, name => name == "PG" ? "Host=db;Password=pg-Secret-55" : null)
            .Load(Base.Replace("timezone: UTC }", "timezone: UTC, storage: { kind: postgres, connectionString: \"${PG}\" } }", StringComparison.Ordinal), "r.yaml");
        Assert.Empty(next.Errors);

        var diff = ConfigDiff.Between(Load(Base), next.Config!);
        var effective = ConfigDiff.Effective(Load(Base), next.Config!);

        var change = Assert.Single(diff.NeedRestart);
        Assert.Equal("storage", change.Key);
        Assert.DoesNotContain("pg-Secret-55", change.Next, StringComparison.Ordinal);
        Assert.Equal(StorageConfig.Sqlite, effective.Settings.Storage.Kind);
    }

    [Fact]
    public void Between_EvaluateEveryChanged_AppliesWithoutRestart()
    {
        var next = Load(Base.Replace("evaluateEvery: 15s", "evaluateEvery: 1m", StringComparison.Ordinal));

        var diff = ConfigDiff.Between(Load(Base), next);
        var effective = ConfigDiff.Effective(Load(Base), next);

        Assert.True(diff.EvaluateEveryChanged);
        Assert.Empty(diff.NeedRestart);
        Assert.Equal(TimeSpan.FromMinutes(1), effective.Settings.EvaluateEvery);
    }

    private sealed record FakeSettings(TimeSpan EvaluateEvery, string ListenAddress, IReadOnlyList<string> Paths);

    [Theory]
    [InlineData("127.0.0.1:9810", "a", 30, new string[0])]
    [InlineData("0.0.0.0:9810", "a", 30, new[] { "listenAddress" })]
    [InlineData("127.0.0.1:9810", "b", 15, new[] { "paths" })]
    [InlineData("0.0.0.0:1", "b", 15, new[] { "listenAddress", "paths" })]
    public void RestartOnlyChanges_SettingsDiffer_NamesOnlyTheOnesNotReloadable(string listen, string path, int everySeconds, string[] expected)
    {
        var running = new FakeSettings(TimeSpan.FromSeconds(15), "127.0.0.1:9810", ["a"]);
        var next = new FakeSettings(TimeSpan.FromSeconds(everySeconds), listen, [path]);

        var changes = ConfigDiff.RestartOnlyChanges(running, next, new HashSet<string> { nameof(FakeSettings.EvaluateEvery) });

        Assert.Equal(expected, changes.Select(c => c.Key));
        if (expected.Contains("listenAddress"))
        {
            Assert.Contains(("listenAddress", "127.0.0.1:9810", listen), changes);
        }
    }

    [Fact]
    public void Equals_SameFileLoadedTwice_ConfigsEqual()
    {
        // Without the records' value equality, lists and maps from two loads are different instances and differ.
        var a = Load(Base + Initiative);
        var b = Load(Base + Initiative);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Theory]
    [InlineData("X-A: \"1\"", "X-A: \"2\"")]
    [InlineData("status: [200, 204]", "status: [200, 201]")]
    [InlineData("$.a.b", "$.a.c")]
    [InlineData("denominator: [up]", "denominator: [status_code]")]
    [InlineData("dependsOn: [x]", "dependsOn: []")]
    public void Equals_OneHeaderOrListValueChanged_ConfigsDiffer(string from, string to)
    {
        var yaml = Base + Initiative;
        var next = yaml.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(yaml, next);

        Assert.NotEqual(Load(yaml), Load(next));
    }

    private const string Initiative = """

        initiatives:
          - id: x
            name: X
          - id: i
            name: I
            dependsOn: [x]
            kpis:
              - { id: k, name: K, source: web, aggregate: ratio, numerator: up, denominator: [up], window: 1h, target: "<= 1" }
        """;
}

