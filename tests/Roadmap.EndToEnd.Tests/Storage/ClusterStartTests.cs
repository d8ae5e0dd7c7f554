using System.Globalization;
using Roadmap.Sources.Tests.Sql;

namespace Roadmap.EndToEnd.Tests.Storage;

/// <summary>
/// Cluster mode's start, on the real executable and a real PostgreSQL: a second replica under an instance id that a
/// live replica is checking in with is refused (two replicas with one id would each take the other's windows for
/// their own), while a replica restarted under the id of one that is gone starts; and two replicas share the sources.
/// </summary>
public sealed class ClusterStartTests : IClassFixture<PostgresServer>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly PostgresServer _server;
    private readonly string _dir = Support.TempFolder();

    public ClusterStartTests(PostgresServer server) => _server = server;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(string Config, Dictionary<string, string?> Environment, string Connection)> ClusterAsync()
    {
        var database = "cl_" + Guid.NewGuid().ToString("N")[..12];
        await _server.ScalarAsync($"CREATE DATABASE {database}");
        var connection = _server.ConnectionString().Replace("Database=postgres", $"Database={database}", StringComparison.Ordinal);
        var sources = string.Join('\n', Enumerable.Range(0, 12).Select(i =>
            $"  - {{ id: s{i}, kind: http, every: 1s, timeout: 900ms, url: \"${{ROADMAP_SELF_URL}}/healthz\" }}"));
        var config = Path.Combine(_dir, "cluster.yaml");
        await File.WriteAllTextAsync(config, $$"""
            roadmap: { name: Cluster }
            settings:
              storage: { kind: postgres, connectionString: "${ROADMAP_PG}" }
              cluster: { enabled: true }
            sources:
            {{sources}}
            """);
        return (config, new Dictionary<string, string?> { ["ROADMAP_PG"] = connection }, connection);
    }

    private WorkerProcess Start(string config, Dictionary<string, string?> environment, string id, out HttpClient http)
    {
        var port = Support.FreePort();
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        return WorkerProcess.Start(_dir, environment, "run", "--config", config, "--urls", $"http://127.0.0.1:{port}", "--instance-id", id);
    }

    /// <summary>The count, or 0 while the replica has not created the table yet.</summary>
    private static async Task<long> CountAsync(string connection, string sql)
    {
        try
        {
            return await CountOrThrowAsync(connection, sql);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
        {
            return 0;
        }
    }

    private static async Task<long> CountOrThrowAsync(string connection, string sql)
    {
        await using var c = new Npgsql.NpgsqlConnection(connection + ";Pooling=false");
        await c.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, c);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Run_SecondReplicaWithALiveReplicasId_IsRefusedAndTwoReplicasShareTheSources()
    {
        var (config, environment, connection) = await ClusterAsync();
        await using var a = Start(config, environment, "a", out var httpA);
        Assert.True(
            await Support.EventuallyAsync(async () => await CountAsync(connection, "SELECT count(*) FROM polls WHERE node = 'a'") > 0, Patience),
            $"replica a polled nothing: {a.Stderr}");

        await using var twin = Start(config, environment, "a", out _);
        Assert.True(await twin.WaitForExitAsync(Patience), "a second replica under a live replica's id kept running");
        Assert.Equal(1, twin.ExitCode);
        Assert.Contains("another live replica uses the instance id \"a\"", twin.Stderr, StringComparison.Ordinal);

        await using var b = Start(config, environment, "b", out var httpB);
        Assert.True(
            await Support.EventuallyAsync(async () => await CountAsync(connection, "SELECT count(DISTINCT source) FROM polls WHERE node = 'b' AND ts > (extract(epoch FROM now()) * 1000)::bigint - 3000") > 0, Patience),
            $"replica b took no share: {b.Stderr}");
        Assert.Equal(0, await CountAsync(connection, "SELECT count(*) FROM (SELECT source, scheduled_ts FROM polls GROUP BY 1, 2 HAVING count(*) > 1) d"));
        var metricsA = await httpA.GetStringAsync("/metrics");
        var metricsB = await httpB.GetStringAsync("/metrics");
        Assert.Contains("roadmap_cluster_nodes{state=\"alive\"}", metricsA, StringComparison.Ordinal);
        Assert.Contains("roadmap_cluster_node_info{node=\"b\"} 1", metricsB, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ReplicaKilledAndRestartedUnderItsId_StartsAndPollsAgain()
    {
        var (config, environment, connection) = await ClusterAsync();
        var first = Start(config, environment, "a", out _);
        Assert.True(
            await Support.EventuallyAsync(async () => await CountAsync(connection, "SELECT count(*) FROM polls WHERE node = 'a'") > 0, Patience),
            $"replica a polled nothing: {first.Stderr}");
        await first.KillAsync();
        await first.DisposeAsync();
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        await using var again = Start(config, environment, "a", out _);

        Assert.True(
            await Support.EventuallyAsync(async () => await CountAsync(connection, $"SELECT count(*) FROM polls WHERE node = 'a' AND ts > {killedAt}") > 0, Patience),
            $"the restarted replica polled nothing (exited: {again.HasExited}): {again.Stderr}");
    }
}
