using Prometheus;
using Quartz;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// The <c>roadmap_cluster_*</c> series, registered only in cluster mode (a single process exports none). The gauges
/// are read from <see cref="ClusterMembership"/> when /metrics is scraped.
/// </summary>
public sealed class ClusterMetrics
{
    private readonly Counter _claims;

    public ClusterMetrics(RoadmapMetrics metrics, ClusterMembership membership, TimeProvider time)
    {
        // Prometheus must never hold two replicas' copies of one series.
        metrics.Scope(membership.IsEvaluatorNow, id => membership.Polls(id, time.GetUtcNow().ToUnixTimeMilliseconds()));
        var f = Metrics.WithCustomRegistry(metrics.Registry);
        var nodes = f.CreateGauge("roadmap_cluster_nodes", "Replicas in Quartz's cluster table as this replica sees them, by state (alive, overdue: missed a check-in, failed: its work is taken over).", ["state"]);
        var shards = f.CreateGauge("roadmap_cluster_shards", "The shards the sources are hashed into (settings.cluster.shards).");
        var shardsHeld = f.CreateGauge("roadmap_cluster_shards_held", "Shards whose current window this replica owns.");
        var sourcesHeld = f.CreateGauge("roadmap_cluster_sources_held", "Sources in the shards this replica holds now: it polls them and exports their series.");
        var evaluator = f.CreateGauge("roadmap_cluster_evaluator", "1 on the replica that owns the current evaluation window (it evaluates, exports the KPI and initiative series and sends updates), else 0.");
        var skew = f.CreateGauge("roadmap_cluster_clock_skew_seconds", "This replica's clock minus the database's, corrected by half the round trip; /readyz fails above 1 s either way.");
        _claims = f.CreateCounter("roadmap_cluster_window_claims_total", "Shard windows this replica claimed, by outcome: won (written by this claim, for whichever replica is the shard's home), lost (already owned), failed (the claim did not reach the database).", ["outcome"]);
        f.CreateGauge("roadmap_cluster_node_info", "This replica's instance id; always 1.", ["node"]).WithLabels(membership.Node).Set(1);
        foreach (var outcome in new[] { "won", "lost", "failed" })
        {
            _claims.WithLabels(outcome).IncTo(0);
        }

        shards.Set(membership.Settings.Shards);
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            var seen = membership.Nodes;
            foreach (var state in new[] { ClusterNodeState.Alive, ClusterNodeState.Overdue, ClusterNodeState.Failed })
            {
                nodes.WithLabels(state.ToString().ToLowerInvariant()).Set(seen.Count(n => n.State == state));
            }

            shardsHeld.Set(membership.Ledger.ShardsHeldAt(time.GetUtcNow().ToUnixTimeMilliseconds(), (long)membership.Settings.Window.TotalMilliseconds));
            sourcesHeld.Set(membership.SourcesHeld());
            evaluator.Set(membership.IsEvaluatorNow() ? 1 : 0);
            skew.Set(membership.ClockSkew.TotalSeconds);
        });
    }

    /// <summary>A claim reached the database: <paramref name="written"/> of its <paramref name="requested"/> windows were new.</summary>
    public void RecordClaim(int requested, int written)
    {
        _claims.WithLabels("won").Inc(written);
        _claims.WithLabels("lost").Inc(requested - written);
    }

    /// <summary>A claim did not reach the database.</summary>
    public void RecordClaimFailure() => _claims.WithLabels("failed").Inc();
}
