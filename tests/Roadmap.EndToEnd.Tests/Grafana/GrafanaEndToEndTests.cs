using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>
/// The dashboards and the alerting rules against a real Prometheus scraping the real worker (see
/// <see cref="LiveMonitoring"/>): every panel query returns data with its variables filled in, every rule evaluates,
/// and the alerts fire on the real labels for the KPIs and sources that are broken.
/// </summary>
/// <remarks>
/// No panel query is exempt from returning data: the one that would legitimately be empty in a short test, the
/// forecast, has its history seeded by the stack. The cluster row's queries (roadmap_cluster_*) have no data from a
/// single process; <see cref="ClusterDashboardTests"/> runs them on a cluster's series. A repeated per-KPI panel passes when its query has data for at
/// least one KPI of the initiative (forecast: KPIs with a deadline; baseline: relative targets), as in Grafana.
/// </remarks>
public sealed partial class GrafanaEndToEndTests(LiveMonitoring stack) : IClassFixture<LiveMonitoring>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Grafana's built-in interval variables, as Grafana would fill them in for a short time range.</summary>
    private static readonly Dictionary<string, string> BuiltIns = new(StringComparer.Ordinal)
    {
        ["__rate_interval"] = "1m",
        ["__interval"] = "15s",
        ["__range"] = "5m",
    };

    [Fact]
    public async Task Dashboards_EveryPanelQueryWithVariablesFilledIn_ReturnsData()
    {
        var failures = new List<string>();
        var queries = 0;
        var passed = await Support.EventuallyAsync(
            async () =>
            {
                (failures, queries) = await FailingPanelQueriesAsync();
                return failures.Count == 0;
            },
            Patience);

        Assert.True(queries > 40, $"only {queries} panel queries found");
        Assert.True(passed, $"{failures.Count} of {queries} panel queries returned no data or an error:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task Rules_EveryRuleInTheRuleFiles_IsLoadedAndEvaluatesWithHealthOk()
    {
        var expected = GrafanaFiles.Rules().Select(r => r.Name).Order(StringComparer.Ordinal).ToList();
        List<JsonElement> rules = [];
        var evaluated = await Support.EventuallyAsync(
            async () =>
            {
                var answer = await stack.Prometheus.GetJsonAsync("/api/v1/rules");
                rules = [.. answer.GetProperty("data").GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("rules").EnumerateArray())];
                return rules.Count == expected.Count && rules.All(r => r.GetProperty("health").GetString() != "unknown");
            },
            Patience);

        Assert.True(evaluated, "the rules were not all loaded and evaluated:\n" + string.Join("\n", rules.Select(Describe)) + "\n" + stack.Prometheus.Log);
        Assert.Equal(expected, rules.Select(r => r.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        var unhealthy = rules.Where(r => r.GetProperty("health").GetString() != "ok").Select(Describe).ToList();
        Assert.True(unhealthy.Count == 0, "rules not healthy:\n" + string.Join("\n", unhealthy));

        static string Describe(JsonElement r) =>
            $"{r.GetProperty("name").GetString()}: {r.GetProperty("health").GetString()} {(r.TryGetProperty("lastError", out var e) ? e.GetString() : "")}";
    }

    [Fact]
    public async Task Rules_OnTheRealMetrics_AlertBrokenKpisAndSourcesWithValueAndTarget_AndNotRoadmapItself()
    {
        // (alert, a label that tells which one, a text its annotations must contain). Pending counts: the `for`
        // durations are minutes, the test is seconds.
        (string Alert, string Label, string Value, string Text)[] expected =
        [
            ("RoadmapKpiMissed", "kpi", "broken-uptime", "KPI hardening/broken-uptime missed: 0, target >= 0.999"),
            ("RoadmapKpiMissed", "kpi", "flaky-uptime", "KPI migration/flaky-uptime missed: "),
            ("RoadmapKpiAtRisk", "kpi", "flaky-goal", "there is too little history to forecast it by its deadline"),
            ("RoadmapKpiNoData", "kpi", "refused-latency", "KPI hardening/refused-latency has no data (target <= 1)"),
            ("RoadmapSourceDown", "source", "broken", "has not polled successfully once since Roadmap started"),
            ("RoadmapSourceDown", "source", "refused", "has not polled successfully once since Roadmap started"),
            ("RoadmapErrorBudgetBurningFast", "kpi", "flaky-uptime", "KPI migration/flaky-uptime is burning its error budget fast"),
        ];

        // Roadmap itself is healthy: its alerts are inactive once it has been scraped and evaluating for a while (a
        // just-started worker can be scraped before its first evaluation round, which a `for` covers in production).
        string[] inactive = ["RoadmapDown", "RoadmapNotScraped", "RoadmapNotEvaluating"];
        List<JsonElement> alerts = [];
        var wrong = new HashSet<string>(StringComparer.Ordinal);
        var settled = await Support.EventuallyAsync(
            async () =>
            {
                var answer = await stack.Prometheus.GetJsonAsync("/api/v1/alerts");
                alerts = [.. answer.GetProperty("data").GetProperty("alerts").EnumerateArray()];
                foreach (var a in alerts.Where(a => Label(a, "alertname") == "RoadmapSourceDown" && Label(a, "source") is "healthy" or "flaky"))
                {
                    wrong.Add(Summary(a)); // a source that has succeeded is not down within minutes
                }

                return expected.All(e => alerts.Any(a => Matches(a, e))) && !alerts.Any(a => inactive.Contains(Label(a, "alertname")));
            },
            Patience);

        var seen = string.Join("\n", alerts.Select(Summary));
        Assert.True(settled, "expected alerts missing, or Roadmap's own alerts active; missing:\n" + string.Join("\n", expected.Where(e => !alerts.Any(a => Matches(a, e))))
            + "\nactive:\n" + seen + "\nworker:\n" + stack.WorkerOutput);
        Assert.True(wrong.Count == 0, "alerts that must not fire:\n" + string.Join("\n", wrong));
        foreach (var a in alerts.Where(a => Label(a, "alertname").StartsWith("RoadmapKpi", StringComparison.Ordinal)))
        {
            Assert.Equal("roadmap", Label(a, "job"));
            Assert.False(string.IsNullOrEmpty(Label(a, "severity")), Summary(a));
            Assert.Contains(Label(a, "initiative"), Annotation(a, "description"), StringComparison.Ordinal);
            Assert.Contains(Label(a, "kpi"), Annotation(a, "description"), StringComparison.Ordinal);
            Assert.Matches(@"target (is )?(>=|<=|>|<|==) [0-9.e+-]+", Annotation(a, "description"));
        }

        static bool Matches(JsonElement a, (string Alert, string Label, string Value, string Text) e) =>
            Label(a, "alertname") == e.Alert && Label(a, e.Label) == e.Value
            && (Annotation(a, "summary") + " " + Annotation(a, "description")).Contains(e.Text, StringComparison.Ordinal);
    }

    private async Task<(List<string> Failures, int Queries)> FailingPanelQueriesAsync()
    {
        var failures = new List<string>();
        var count = 0;
        foreach (var dashboard in GrafanaFiles.Dashboards())
        {
            var candidates = await VariableCandidatesAsync(stack.Prometheus, dashboard);
            foreach (var query in GrafanaFiles.Queries(dashboard))
            {
                if (GrafanaFiles.IsClusterQuery(query.Expr))
                {
                    continue; // a single process exports no roadmap_cluster_* series: ClusterDashboardTests has them
                }

                count++;
                var tried = new StringBuilder();
                var hasData = false;
                foreach (var expr in Expand(query.Expr, candidates))
                {
                    var answer = await stack.Prometheus.QueryAsync(expr);
                    if (answer.GetProperty("status").GetString() != "success")
                    {
                        tried.Append("\n    error: ").Append(answer.GetProperty("error").GetString()).Append("\n      in: ").Append(expr);
                        continue;
                    }

                    if (LiveMonitoring.Results(answer).GetArrayLength() > 0)
                    {
                        hasData = true;
                        break;
                    }

                    tried.Append("\n    empty: ").Append(expr);
                }

                if (!hasData)
                {
                    failures.Add(query + tried.ToString());
                }
            }
        }

        return (failures, count);
    }

    /// <summary>
    /// The values each template variable takes, from its own label_values query against Prometheus: $initiative is
    /// the initiative with every kind of KPI; a multi-value variable is tried as Grafana sends "All" (a regex of every
    /// value) and as each single value (what a repeated panel gets).
    /// </summary>
    internal static async Task<Dictionary<string, List<string>>> VariableCandidatesAsync(PrometheusServer prometheus, string dashboard)
    {
        var candidates = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var variable in GrafanaFiles.Variables(dashboard))
        {
            var query = Expand(variable.Query, candidates).First();
            var parsed = GrafanaFiles.LabelValues(query)
                ?? throw new InvalidOperationException($"{Path.GetFileName(dashboard)}: variable {variable.Name}: not a label_values(SELECTOR, LABEL) query: {query}");
            var series = await prometheus.GetJsonAsync("/api/v1/series?match[]=" + Uri.EscapeDataString(parsed.Selector));
            var values = (series.TryGetProperty("data", out var data) ? data : throw new InvalidOperationException(query + ": " + series))
                .EnumerateArray()
                .Select(s => s.TryGetProperty(parsed.Label, out var v) ? v.GetString() : null)
                .OfType<string>()
                .Distinct()
                .Order(StringComparer.Ordinal)
                .ToList();
            Assert.True(values.Count > 0, $"{Path.GetFileName(dashboard)}: variable {variable.Name} has no values: {query}");
            if (variable.Name == "initiative")
            {
                Assert.Contains(LiveMonitoring.Initiative, values);
                candidates[variable.Name] = [LiveMonitoring.Initiative];
            }
            else
            {
                candidates[variable.Name] = variable.Multi || variable.IncludeAll ? ["(" + string.Join("|", values) + ")", .. values] : values;
            }
        }

        return candidates;
    }

    /// <summary>Every way to fill in the variables <paramref name="expr"/> uses ($name, ${name}, [[name]]).</summary>
    internal static IEnumerable<string> Expand(string expr, Dictionary<string, List<string>> candidates)
    {
        var used = Variable().Matches(expr).Select(Name).Where(n => !BuiltIns.ContainsKey(n)).Distinct().ToList();
        var unknown = used.Where(n => !candidates.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"undefined variable(s) {string.Join(", ", unknown)} in: {expr}");
        }

        IEnumerable<Dictionary<string, string>> combinations = [new(StringComparer.Ordinal)];
        foreach (var name in used)
        {
            combinations = combinations.SelectMany(c => candidates[name].Select(v => new Dictionary<string, string>(c, StringComparer.Ordinal) { [name] = v }));
        }

        return combinations.Select(c => Variable().Replace(expr, m =>
        {
            var name = Name(m);
            return BuiltIns.TryGetValue(name, out var builtIn) ? builtIn : c[name];
        }));

        static string Name(Match m) => m.Groups["a"].Success ? m.Groups["a"].Value : m.Groups["b"].Success ? m.Groups["b"].Value : m.Groups["c"].Value;
    }

    private static string Label(JsonElement alert, string name) =>
        alert.GetProperty("labels").TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";

    private static string Annotation(JsonElement alert, string name) =>
        alert.GetProperty("annotations").TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";

    private static string Summary(JsonElement a) =>
        $"{Label(a, "alertname")} [{a.GetProperty("state").GetString()}] {a.GetProperty("labels")}: {Annotation(a, "summary")} | {Annotation(a, "description")}";

    [GeneratedRegex(@"\$\{(?<a>\w+)(?::[^}]*)?\}|\$(?<b>\w+)|\[\[(?<c>\w+)\]\]")]
    private static partial Regex Variable();
}
