using Roadmap.Sources.Tests.Sql;
using Xunit.Abstractions;

namespace Roadmap.EndToEnd.Tests.Cluster;

/// <summary>
/// The proof of cluster mode: one real PostgreSQL, real worker processes on loopback, 300 http sources every second
/// against a target that logs every hit, the cluster on its production timings. The audit (<see cref="ClusterAudit"/>)
/// judges the stored polls, the target's log and the scrapes against the deterministic ticks and the issue's goals.
/// </summary>
[Collection(ClusterGroup.Name)]
public sealed class ClusterFailoverTests(PostgresServer postgres, ITestOutputHelper output) : IClassFixture<PostgresServer>, IDisposable
{
    private const int Sources = 300;

    private readonly string _dir = Support.TempFolder();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public Task Run_ThreeReplicasKilledFrozenAndStopped_EachTickPolledOnceAndTakenOverInTime() =>
        FailoverAuditAsync(postgres, (environment, args) => WorkerProcess.Start(_dir, environment, args), output);

    [Fact]
    public async Task Run_OneReplicaWithoutCluster_EachTickOnTheGridPolledOnce()
    {
        await using var rig = await ClusterRig.StartAsync(postgres, new ClusterRigOptions(Sources, Cluster: false, InstanceIds: false), (environment, args) => WorkerProcess.Start(_dir, environment, args));
        var result = await ClusterScenario.SingleAsync(rig, ScenarioTimings.FromEnvironment().Calm, output.WriteLine);
        Judge(result, "one replica, cluster off", output);
    }

    /// <summary>The failover scenario and its audit, with replicas started by <paramref name="start"/> (JIT here, native in NativeBuildTests).</summary>
    internal static async Task FailoverAuditAsync(PostgresServer server, Func<IReadOnlyDictionary<string, string?>, string[], WorkerProcess> start, ITestOutputHelper output)
    {
        await using var rig = await ClusterRig.StartAsync(server, new ClusterRigOptions(Sources, Cluster: true, InstanceIds: true), start);
        var result = await ClusterScenario.FailoverAsync(rig, ScenarioTimings.FromEnvironment(), output.WriteLine);
        Judge(result, "three replicas", output);
    }

    /// <summary>Prints the figures (and appends them to <c>ROADMAP_CLUSTER_AUDIT_REPORT</c> when set, for the bench), then asserts every goal.</summary>
    private static void Judge(ScenarioResult result, string what, ITestOutputHelper output)
    {
        var summary = $"## {what}\n{result.Summary()}";
        output.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("ROADMAP_CLUSTER_AUDIT_REPORT") is { Length: > 0 } file)
        {
            File.AppendAllText(file, summary + "\n");
        }

        var failures = result.Failures(AuditGoals.Issue);
        Assert.True(failures.Count == 0, $"{string.Join('\n', failures)}\n\n{summary}\n{result.Output}");
    }
}

/// <summary>The cluster runs load both cores for minutes with timing goals: they run alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterGroup
{
    public const string Name = "Cluster audit (runs alone)";
}
