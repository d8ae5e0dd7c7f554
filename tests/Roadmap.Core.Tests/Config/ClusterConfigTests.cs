using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary><c>settings.cluster</c> through the real loader: off by default, PostgreSQL only, bounded timings.</summary>
public sealed class ClusterConfigTests
{
    private const string Postgres = "  storage: { kind: postgres, connectionString: \"Host=127.0.0.1;Database=r;Username=r;Password=p\" }";

    private static ConfigLoadResult Load(string settings) =>
        new ConfigLoader([], _ => null).Load($"roadmap: {{ name: x }}\nsettings:\n{settings}\n", "test.yaml");

    private static string OnlyError(ConfigLoadResult result)
    {
        Assert.False(result.IsValid);
        return Assert.Single(result.ErrorLines());
    }

    [Fact]
    public void Load_NoCluster_IsOff()
    {
        var result = Load("  evaluateEvery: 15s");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.False(result.Config!.Settings.Cluster.Enabled);
    }

    [Fact]
    public void Load_EnabledOnPostgres_TakesEveryKey()
    {
        var result = Load($"{Postgres}\n  cluster: {{ enabled: true, shards: 64, window: 7s, checkinInterval: 1s, failoverAfter: 2s }}");

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Equal(new ClusterConfig(true, 64, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), result.Config!.Settings.Cluster);
    }

    [Fact]
    public void Load_EnabledOnSqlite_SaysItNeedsPostgres()
    {
        var error = OnlyError(Load("  cluster: { enabled: true }"));

        Assert.Contains("test.yaml:3:", error, StringComparison.Ordinal);
        Assert.Contains("settings.cluster.enabled", error, StringComparison.Ordinal);
        Assert.Contains("kind: postgres", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("window: 1s", "settings.cluster.window")]
    [InlineData("window: 2m", "settings.cluster.window")]
    [InlineData("checkinInterval: 100ms", "settings.cluster.checkinInterval")]
    [InlineData("failoverAfter: 3s", "settings.cluster.failoverAfter")]
    [InlineData("shards: 0", "settings.cluster.shards")]
    [InlineData("shards: 5000", "settings.cluster.shards")]
    [InlineData("leader: a", "settings.cluster.leader")]
    public void Load_OutOfBounds_NamesTheKey(string key, string expected)
    {
        var error = OnlyError(Load($"{Postgres}\n  cluster: {{ enabled: true, {key} }}"));

        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("test.yaml:4:", error, StringComparison.Ordinal);
    }
}
