using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>One PromQL query of one dashboard panel.</summary>
internal sealed record PanelQuery(string Dashboard, string Panel, string RefId, string Expr)
{
    public override string ToString() => $"{Dashboard} / \"{Panel}\" / {RefId}";
}

/// <summary>A dashboard template variable: its name and its label_values(...) query.</summary>
internal sealed record DashboardVariable(string Name, string Query, bool Multi, bool IncludeAll);

/// <summary>An alerting or recording rule as written in a rules file.</summary>
internal sealed record PrometheusRule(string File, string Group, string Name, bool IsAlert, string Expr, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations);

/// <summary>The files under grafana/ and what the tests read from them.</summary>
internal static partial class GrafanaFiles
{
    public static string Folder => Path.Combine(Support.RepositoryRoot(), "grafana");

    /// <summary>The compose stack's prometheus.yml, with rules/ and tests/ below it.</summary>
    public static string PrometheusFolder => Path.Combine(Folder, "prometheus");

    /// <summary>The alerting rules: every YAML file in it is a rule file (prometheus.yml loads rules/*.yml).</summary>
    public static string RulesFolder => Path.Combine(PrometheusFolder, "rules");

    /// <summary>The rules' promtool unit tests: every YAML file in it is a test file.</summary>
    public static string RuleTestsFolder => Path.Combine(PrometheusFolder, "tests");

    public static IReadOnlyList<string> Dashboards() =>
        [.. Directory.GetFiles(Path.Combine(Folder, "dashboards"), "*.json").Order(StringComparer.Ordinal)];

    /// <summary>The rule files: rules/*.yml, the glob prometheus.yml loads.</summary>
    public static IReadOnlyList<string> RuleFiles() =>
        [.. Directory.GetFiles(RulesFolder, "*.yml").Order(StringComparer.Ordinal)];

    /// <summary>The promtool unit tests: tests/*.yml.</summary>
    public static IReadOnlyList<string> RuleTestFiles() =>
        [.. Directory.GetFiles(RuleTestsFolder, "*.yml").Order(StringComparer.Ordinal)];

    /// <summary>Every PromQL target of every panel, rows' nested panels included.</summary>
    public static IReadOnlyList<PanelQuery> Queries(string dashboardPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(dashboardPath));
        var name = Path.GetFileName(dashboardPath);
        var queries = new List<PanelQuery>();
        foreach (var panel in Panels(doc.RootElement))
        {
            if (!panel.TryGetProperty("targets", out var targets))
            {
                continue;
            }

            var title = panel.GetProperty("title").GetString() ?? "";
            foreach (var t in targets.EnumerateArray())
            {
                queries.Add(new PanelQuery(name, title, t.GetProperty("refId").GetString() ?? "", t.GetProperty("expr").GetString() ?? ""));
            }
        }

        return queries;
    }

    /// <summary>Every panel of a dashboard, rows' nested panels included, as independent copies.</summary>
    public static IReadOnlyList<JsonElement> Panels(JsonElement dashboard)
    {
        var panels = new List<JsonElement>();
        foreach (var p in dashboard.GetProperty("panels").EnumerateArray())
        {
            panels.Add(p.Clone());
            if (p.TryGetProperty("panels", out var nested))
            {
                panels.AddRange(nested.EnumerateArray().Select(n => n.Clone()));
            }
        }

        return panels;
    }

    /// <summary>Whether a query reads cluster-mode series (roadmap_cluster_*), which only a cluster's replicas export.</summary>
    public static bool IsClusterQuery(string expr) => expr.Contains("roadmap_cluster_", StringComparison.Ordinal);

    public static IReadOnlyList<DashboardVariable> Variables(string dashboardPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(dashboardPath));
        var variables = new List<DashboardVariable>();
        foreach (var v in doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            var query = v.GetProperty("query");
            var text = query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString() : query.GetString();
            variables.Add(new DashboardVariable(
                v.GetProperty("name").GetString() ?? "",
                text ?? "",
                v.TryGetProperty("multi", out var multi) && multi.GetBoolean(),
                v.TryGetProperty("includeAll", out var all) && all.GetBoolean()));
        }

        return variables;
    }

    /// <summary>label_values(SELECTOR, LABEL) as (selector, label); null for any other variable query.</summary>
    public static (string Selector, string Label)? LabelValues(string query)
    {
        var m = LabelValuesQuery().Match(query.Trim());
        return m.Success ? (m.Groups["selector"].Value.Trim(), m.Groups["label"].Value) : null;
    }

    public static IReadOnlyList<PrometheusRule> Rules()
    {
        var rules = new List<PrometheusRule>();
        foreach (var file in RuleFiles())
        {
            foreach (var group in Sequence(Load(file), "groups"))
            {
                var groupName = Scalar(group, "name") ?? "";
                foreach (var rule in Sequence(group, "rules"))
                {
                    var alert = Scalar(rule, "alert");
                    rules.Add(new PrometheusRule(
                        Path.GetFileName(file),
                        groupName,
                        alert ?? Scalar(rule, "record") ?? "",
                        alert is not null,
                        Scalar(rule, "expr") ?? "",
                        Map(rule, "labels"),
                        Map(rule, "annotations")));
                }
            }
        }

        return rules;
    }

    /// <summary>The promtool alert test cases of every test file: (alertname, whether it expects firing alerts).</summary>
    public static IReadOnlyList<(string Alert, bool ExpectsFiring)> AlertTestCases()
    {
        var cases = new List<(string, bool)>();
        foreach (var file in RuleTestFiles())
        {
            foreach (var test in Sequence(Load(file), "tests"))
            {
                foreach (var c in Sequence(test, "alert_rule_test"))
                {
                    var firing = c is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode("exp_alerts"), out var exp)
                        && exp is YamlSequenceNode { Children.Count: > 0 };
                    cases.Add((Scalar(c, "alertname") ?? "", firing));
                }
            }
        }

        return cases;
    }

    public static YamlNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(path));
        stream.Load(reader);
        return stream.Documents[0].RootNode;
    }

    public static IEnumerable<YamlNode> Sequence(YamlNode node, string key) =>
        node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlSequenceNode s ? s.Children : [];

    public static string? Scalar(YamlNode node, string key) =>
        node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static Dictionary<string, string> Map(YamlNode node, string key) =>
        node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode map
            ? map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => (kv.Value as YamlScalarNode)?.Value ?? "")
            : [];

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*\)$", RegexOptions.Singleline)]
    private static partial Regex LabelValuesQuery();
}
