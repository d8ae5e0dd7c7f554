using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>
/// The dashboards over a cluster's series, in a real Prometheus: the cluster row has data, and every panel that reads
/// KPI, initiative or per-source series shows what it shows for a single process, while those series move from one
/// replica to another (see <see cref="ClusterHistory"/>).
/// </summary>
public sealed class ClusterDashboardTests(ClusterHistory history) : IClassFixture<ClusterHistory>
{
    /// <summary>The series a single process and a cluster both export, and that must not split or double.</summary>
    private static readonly string[] SharedSeries = ["roadmap_kpi_", "roadmap_initiative_", "roadmap_source_", "roadmap_signal_"];

    [Fact]
    public async Task Dashboards_ClusterRowQueries_ReturnDataForEveryReplica()
    {
        var failures = new List<string>();
        var queries = 0;
        foreach (var dashboard in GrafanaFiles.Dashboards())
        {
            var candidates = await GrafanaEndToEndTests.VariableCandidatesAsync(history.Cluster, dashboard);
            foreach (var query in GrafanaFiles.Queries(dashboard).Where(q => GrafanaFiles.IsClusterQuery(q.Expr)))
            {
                queries++;
                var results = new List<string>();
                foreach (var expr in GrafanaEndToEndTests.Expand(query.Expr, candidates))
                {
                    results.AddRange(await ResultsAsync(history.Cluster, expr));
                }

                if (results.Count == 0)
                {
                    failures.Add($"{query}: no data\n    {query.Expr}");
                }
            }
        }

        Assert.True(queries >= 6, $"only {queries} cluster panel queries found");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Dashboards_KpiAndSourcePanels_WhileTheSeriesMoveBetweenReplicas_ShowWhatASingleProcessShows()
    {
        // Each query, with each value of its variables, at the moment both replicas' copies are in Prometheus (the
        // old owner's last samples within the lookback, the new owner's fresh ones), against the same query over
        // one process that exported the same values all along. A panel that splits a series by instance, or sums
        // the copies, differs.
        var failures = new List<string>();
        var compared = 0;
        foreach (var dashboard in GrafanaFiles.Dashboards())
        {
            var candidates = await GrafanaEndToEndTests.VariableCandidatesAsync(history.Single, dashboard);
            foreach (var query in GrafanaFiles.Queries(dashboard).Where(q => SharedSeries.Any(s => q.Expr.Contains(s, StringComparison.Ordinal))))
            {
                var hasData = false;
                foreach (var expr in GrafanaEndToEndTests.Expand(query.Expr, candidates))
                {
                    var single = await ResultsAsync(history.Single, expr);
                    var cluster = await ResultsAsync(history.Cluster, expr);
                    hasData |= single.Count > 0;
                    compared++;
                    if (!Same(single, cluster, Tolerance(expr)))
                    {
                        failures.Add($"{query}\n    {expr}\n    single process: {string.Join("; ", single)}\n    cluster:        {string.Join("; ", cluster)}");
                    }
                }

                if (!hasData)
                {
                    failures.Add($"{query}: no data over a single process, so nothing was compared\n    {query.Expr}");
                }
            }
        }

        Assert.True(compared > 40, $"only {compared} queries compared");
        Assert.True(failures.Count == 0, $"{failures.Count} panel queries differ between one process and a cluster:\n" + string.Join("\n", failures));
    }

    /// <summary>
    /// Rates and increases are extrapolated from each series' own samples, so where the samples are split between two
    /// replicas' counters they come out a little differently from one counter's; a doubled or halved series is far
    /// outside this.
    /// </summary>
    private static double Tolerance(string expr) =>
        expr.Contains("rate(", StringComparison.Ordinal) || expr.Contains("increase(", StringComparison.Ordinal) ? 0.25 : 1e-9;

    private static bool Same(List<string> single, List<string> cluster, double tolerance)
    {
        if (single.Count != cluster.Count)
        {
            return false;
        }

        for (var i = 0; i < single.Count; i++)
        {
            var (labelsA, valueA) = Split(single[i]);
            var (labelsB, valueB) = Split(cluster[i]);
            if (labelsA != labelsB || !Close(valueA, valueB, tolerance))
            {
                return false;
            }
        }

        return true;

        static (string Labels, double Value) Split(string result)
        {
            var at = result.LastIndexOf(" = ", StringComparison.Ordinal);
            return (result[..at], double.Parse(result[(at + 3)..], NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        static bool Close(double a, double b, double tolerance) =>
            a.Equals(b) || Math.Abs(a - b) <= tolerance * Math.Max(Math.Abs(a), Math.Abs(b));
    }

    /// <summary>The query's series at <see cref="ClusterHistory.At"/>, each as "{labels} = value", sorted.</summary>
    private async Task<List<string>> ResultsAsync(PrometheusServer prometheus, string expr)
    {
        var answer = await prometheus.QueryAsync(expr, history.At);
        Assert.True(answer.GetProperty("status").GetString() == "success", $"{expr}: {answer}");
        return [.. LiveMonitoring.Results(answer).EnumerateArray()
            .Select(r => string.Join(",", r.GetProperty("metric").EnumerateObject().OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => $"{l.Name}={l.Value.GetString()}"))
                + " = " + r.GetProperty("value")[1].GetString())
            .Order(StringComparer.Ordinal)];
    }
}

/// <summary>
/// Two real Prometheus servers whose storage starts with half an hour of Roadmap's series, one sample every 15 s:
/// <see cref="Single"/> from one process that exported them all along, and <see cref="Cluster"/> from three replicas
/// with the same values, where roadmap-1 exported the KPI, initiative and per-source series (it owned the evaluation
/// and the sources' shards) until minute 15 and roadmap-2 from a scrape before that on, as when ownership moves;
/// roadmap-3 holds other shards. Counters of the moved series start again from 0 on the new owner.
/// </summary>
public sealed class ClusterHistory : IAsyncLifetime
{
    private const int Step = 15;
    private const int Length = 1800;
    private const int HandOver = 900;

    private static readonly string[] KpiStatuses = ["met", "on_track", "no_data", "at_risk", "missed"];
    private static readonly string[] Healths = ["planned", "no_data", "achieved", "on_track", "at_risk", "missed", "done", "cancelled"];
    private static readonly string[] BurnWindows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

    private PrometheusServer? _single;
    private PrometheusServer? _cluster;

    /// <summary>When the history starts: whole seconds, well in the past (backfilled blocks must not reach the head).</summary>
    private readonly DateTimeOffset _start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 - 3 * 3600);

    /// <summary>The moment the tests query: 100 s after the hand-over, when the old owner's last samples are still
    /// within Prometheus's 5-minute lookback beside the new owner's.</summary>
    public DateTimeOffset At => _start.AddSeconds(HandOver + 100);

    internal PrometheusServer Single => _single ?? throw new InvalidOperationException("not started");

    internal PrometheusServer Cluster => _cluster ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        const string config = "global:\n  scrape_interval: 15s\nscrape_configs: []\n";
        var single = PrometheusServer.StartAsync(config, TimeSpan.FromSeconds(60), History(cluster: false));
        var cluster = PrometheusServer.StartAsync(config, TimeSpan.FromSeconds(60), History(cluster: true));
        _single = await single;
        _cluster = await cluster;
    }

    public async Task DisposeAsync()
    {
        if (_single is not null)
        {
            await _single.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    private string History(bool cluster)
    {
        var families = new SortedDictionary<string, StringBuilder>(StringComparer.Ordinal);
        string[] instances = cluster ? ["roadmap-1:9810", "roadmap-2:9810", "roadmap-3:9810"] : ["roadmap:9810"];

        // Which instance exports the moved series at offset t, and the offset its counters started at.
        IEnumerable<(string Instance, int Since)> Owners(int t) => !cluster
            ? [("roadmap:9810", 0)]
            : new[] { ("roadmap-1:9810", 0, t <= HandOver), ("roadmap-2:9810", HandOver - Step, t >= HandOver - Step) }
                .Where(o => o.Item3).Select(o => (o.Item1, o.Item2));

        for (var t = 0; t <= Length; t += Step)
        {
            foreach (var (instance, since) in Owners(t))
            {
                var polls = (t - since) / Step;
                void Add(string name, string labels, double value) => Sample(families, name, $"instance=\"{instance}\",job=\"roadmap\"," + labels, t, value);

                Add("roadmap_initiative_info", "initiative=\"migration\",name=\"Cloud migration\",goal=\"scale\",declared_status=\"in_progress\"", 1);
                foreach (var h in Healths)
                {
                    Add("roadmap_initiative_health", $"initiative=\"migration\",health=\"{h}\"", h == "on_track" ? 1 : 0);
                }

                Add("roadmap_initiative_blocked", "initiative=\"migration\"", 0);
                Add("roadmap_initiative_kpis", "initiative=\"migration\"", 2);
                Add("roadmap_initiative_kpis_met", "initiative=\"migration\"", 1);
                Add("roadmap_initiative_start_timestamp_seconds", "initiative=\"migration\"", 1_793_491_200);
                Add("roadmap_initiative_due_timestamp_seconds", "initiative=\"migration\"", 1_806_537_599);

                // uptime: a budget KPI with a deadline and a forecast; latency: met, a relative target.
                const string uptime = "initiative=\"migration\",kpi=\"uptime\"";
                const string latency = "initiative=\"migration\",kpi=\"latency\"";
                Add("roadmap_kpi_info", uptime + ",name=\"Uptime\",unit=\"ratio\",aggregate=\"avg\",window=\"30d\",comparison=\">=\"", 1);
                Add("roadmap_kpi_info", latency + ",name=\"Latency\",unit=\"seconds\",aggregate=\"p95\",window=\"1h\",comparison=\"<=\"", 1);
                foreach (var s in KpiStatuses)
                {
                    Add("roadmap_kpi_status", uptime + $",status=\"{s}\"", s == "on_track" ? 1 : 0);
                    Add("roadmap_kpi_status", latency + $",status=\"{s}\"", s == "met" ? 1 : 0);
                }

                Add("roadmap_kpi_value", uptime, 0.9985);
                Add("roadmap_kpi_target", uptime, 0.999);
                Add("roadmap_kpi_met", uptime, 0);
                Add("roadmap_kpi_deadline_timestamp_seconds", uptime, 1_806_537_599);
                Add("roadmap_kpi_forecast_value", uptime, 0.9993);
                Add("roadmap_kpi_forecast_lower", uptime, 0.999);
                Add("roadmap_kpi_forecast_upper", uptime, 0.9996);
                Add("roadmap_kpi_forecast_probability", uptime, 0.7);
                Add("roadmap_kpi_error_budget_remaining_ratio", uptime, 0.4);
                Add("roadmap_kpi_window_coverage_ratio", uptime, 0.6);
                foreach (var w in BurnWindows)
                {
                    Add("roadmap_kpi_burn_rate", uptime + $",window=\"{w}\"", 1.5);
                }

                Add("roadmap_kpi_value", latency, 0.18);
                Add("roadmap_kpi_target", latency, 0.2);
                Add("roadmap_kpi_met", latency, 1);
                Add("roadmap_kpi_baseline_value", latency, 0.25);

                // shop polls fine; api fails one poll in three. Counters count from the owner's first export.
                foreach (var (source, kind, failEvery) in new[] { ("shop", "http", 0), ("api", "json", 3) })
                {
                    var failures = failEvery == 0 ? 0 : polls / failEvery;
                    var labels = $"source=\"{source}\",kind=\"{kind}\"";
                    Add("roadmap_source_up", labels, 1);
                    Add("roadmap_source_polls_total", labels + ",outcome=\"success\"", polls - failures);
                    Add("roadmap_source_polls_total", labels + ",outcome=\"failure\"", failures);
                    Add("roadmap_source_last_success_timestamp_seconds", labels, _start.ToUnixTimeSeconds() + t);
                    Add("roadmap_source_poll_duration_seconds_bucket", labels + ",le=\"0.1\"", polls * 0.5);
                    Add("roadmap_source_poll_duration_seconds_bucket", labels + ",le=\"1\"", polls * 0.9);
                    Add("roadmap_source_poll_duration_seconds_bucket", labels + ",le=\"+Inf\"", polls);
                    Add("roadmap_signal_value", $"source=\"{source}\",signal=\"latency_seconds\"", 0.08);
                    Add("roadmap_signal_value", $"source=\"{source}\",signal=\"cert_expiry_seconds\"", 2_000_000);
                }
            }

            foreach (var instance in instances)
            {
                void Add(string name, string labels, double value) =>
                    Sample(families, name, $"instance=\"{instance}\",job=\"roadmap\"" + (labels.Length > 0 ? "," + labels : ""), t, value);

                Add("up", "", 1);
                Add("roadmap_build_info", "version=\"1.0.0\"", 1);
                if (!cluster)
                {
                    continue;
                }

                var replica = instance[8] - '0';
                var evaluator = replica == 1 ? t <= HandOver : replica == 2 && t >= HandOver - Step;
                Add("roadmap_cluster_node_info", $"node=\"roadmap-{replica}\"", 1);
                Add("roadmap_cluster_nodes", "state=\"alive\"", 3);
                Add("roadmap_cluster_nodes", "state=\"overdue\"", 0);
                Add("roadmap_cluster_nodes", "state=\"failed\"", 0);
                Add("roadmap_cluster_shards", "", 128);
                Add("roadmap_cluster_shards_held", "", replica == 3 ? 42 : 43);
                Add("roadmap_cluster_sources_held", "", replica == 3 ? 0 : 1);
                Add("roadmap_cluster_evaluator", "", evaluator ? 1 : 0);
                Add("roadmap_cluster_clock_skew_seconds", "", 0.01 * (2 - replica));
                Add("roadmap_cluster_window_claims_total", "outcome=\"won\"", t / Step * 4);
                Add("roadmap_cluster_window_claims_total", "outcome=\"lost\"", t / Step * 8);
                Add("roadmap_cluster_window_claims_total", "outcome=\"failed\"", 0);
            }
        }

        var text = new StringBuilder();
        foreach (var (name, samples) in families)
        {
            text.Append("# TYPE ").Append(name).Append(" unknown\n").Append(samples);
        }

        return text.Append("# EOF\n").ToString();
    }

    private void Sample(SortedDictionary<string, StringBuilder> families, string name, string labels, int offset, double value)
    {
        if (!families.TryGetValue(name, out var lines))
        {
            families[name] = lines = new StringBuilder();
        }

        lines.Append(CultureInfo.InvariantCulture, $"{name}{{{labels}}} {value.ToString("R", CultureInfo.InvariantCulture)} {_start.ToUnixTimeSeconds() + offset}\n");
    }
}
