using System.Text.Json;
using System.Text.RegularExpressions;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>The dashboard JSON, the provisioning and the compose stack fit together, and use only contract metrics.</summary>
public sealed partial class DashboardFileTests
{
    [Fact]
    public void Dashboards_EachFile_IsProvisionableWithAUidAndTheProvisionedDatasourceOnly()
    {
        var dashboards = GrafanaFiles.Dashboards();
        Assert.Superset(new HashSet<string?> { "roadmap-initiative.json", "roadmap-overview.json", "roadmap-sources.json" }, dashboards.Select(Path.GetFileName).ToHashSet());
        var uids = new List<string>();
        var problems = new List<string>();
        foreach (var file in dashboards)
        {
            var text = File.ReadAllText(file);
            var name = Path.GetFileName(file);
            if (text.Contains("${DS_", StringComparison.Ordinal))
            {
                problems.Add($"{name}: uses a ${{DS_...}} import input; provisioning needs the datasource uid \"prometheus\"");
            }

            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            uids.Add(root.GetProperty("uid").GetString() ?? "");
            if (root.GetProperty("schemaVersion").GetInt32() < 39)
            {
                problems.Add($"{name}: schemaVersion below 39");
            }

            var ids = new HashSet<int>();
            foreach (var panel in GrafanaFiles.Panels(root))
            {
                var title = panel.GetProperty("title").GetString();
                if (!ids.Add(panel.GetProperty("id").GetInt32()))
                {
                    problems.Add($"{name} / {title}: duplicate panel id");
                }

                if (panel.GetProperty("type").GetString() == "row")
                {
                    continue;
                }

                if (DatasourceUid(panel) != "prometheus")
                {
                    problems.Add($"{name} / {title}: panel datasource is not uid \"prometheus\"");
                }

                if (!panel.TryGetProperty("targets", out var targets) || targets.GetArrayLength() == 0)
                {
                    problems.Add($"{name} / {title}: no query");
                    continue;
                }

                foreach (var t in targets.EnumerateArray())
                {
                    if (DatasourceUid(t) != "prometheus" || string.IsNullOrWhiteSpace(t.GetProperty("expr").GetString()))
                    {
                        problems.Add($"{name} / {title} / {t.GetProperty("refId").GetString()}: no expr, or not datasource uid \"prometheus\"");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal(uids.Count, uids.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain("", uids);
    }

    [Fact]
    public void InitiativeDashboard_InitiativeVariable_IsTheLabelValuesOfTheInitiativeInfo()
    {
        var variables = GrafanaFiles.Variables(Path.Combine(GrafanaFiles.Folder, "dashboards", "roadmap-initiative.json"));

        var initiative = Assert.Single(variables, v => v.Name == "initiative");
        Assert.Equal("label_values(roadmap_initiative_info, initiative)", initiative.Query);
    }

    [Fact]
    public void DashboardsAndRules_EveryRoadmapMetricTheyName_IsInTheReadmeMetricsContract()
    {
        var contract = MetricName().Matches(MetricsSection()).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("roadmap_kpi_value", contract);

        var files = GrafanaFiles.Dashboards().Concat(GrafanaFiles.RuleFiles()).Concat(GrafanaFiles.RuleTestFiles());
        var unknown = files
            .SelectMany(f => MetricName().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetFileName(f), Name: m.Value)))
            .Where(u => !contract.Contains(u.Name) && !contract.Contains(HistogramSeries().Replace(u.Name, "")))
            .Distinct()
            .Select(u => $"{u.File}: {u.Name}")
            .ToList();

        Assert.True(unknown.Count == 0, "not in README.md's Metrics:\n" + string.Join("\n", unknown));
    }

    [Fact]
    public void SourcesDashboard_ClusterRow_ShowsEveryClusterMetricOfTheReadmeContract()
    {
        // The cluster row of "Roadmap sources": every roadmap_cluster_* metric README.md documents is on a panel
        // below the row titled "Cluster" (and above any later row), so an operator sees each one.
        var contract = MetricName().Matches(MetricsSection()).Select(m => m.Value)
            .Where(n => n.StartsWith("roadmap_cluster_", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(contract);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GrafanaFiles.Folder, "dashboards", "roadmap-sources.json")));
        var panels = doc.RootElement.GetProperty("panels").EnumerateArray().ToList();
        var row = panels.FindIndex(p => p.GetProperty("type").GetString() == "row" && p.GetProperty("title").GetString() == "Cluster");
        Assert.True(row >= 0, "no row titled Cluster");
        var shown = panels.Skip(row + 1).TakeWhile(p => p.GetProperty("type").GetString() != "row")
            .SelectMany(p => p.TryGetProperty("targets", out var t) ? t.EnumerateArray().Select(q => q.GetProperty("expr").GetString() ?? "") : [])
            .SelectMany(expr => MetricName().Matches(expr).Select(m => m.Value))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(contract.Except(shown).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Provisioning_DatasourceDashboardsAndCompose_PointAtEachOther()
    {
        var datasource = GrafanaFiles.Load(Path.Combine(GrafanaFiles.Folder, "provisioning", "datasources", "prometheus.yml"));
        var ds = Assert.Single(GrafanaFiles.Sequence(datasource, "datasources"));
        Assert.Equal("prometheus", GrafanaFiles.Scalar(ds, "uid"));
        Assert.Equal("http://prometheus:9090", GrafanaFiles.Scalar(ds, "url"));

        var provider = Assert.Single(GrafanaFiles.Sequence(GrafanaFiles.Load(Path.Combine(GrafanaFiles.Folder, "provisioning", "dashboards", "roadmap.yml")), "providers"));
        var dashboardsPath = GrafanaFiles.Scalar(((YamlDotNet.RepresentationModel.YamlMappingNode)provider).Children[new YamlDotNet.RepresentationModel.YamlScalarNode("options")], "path");

        var compose = File.ReadAllText(Path.Combine(GrafanaFiles.Folder, "docker-compose.yml"));
        Assert.Contains($"./dashboards:{dashboardsPath}:ro", compose, StringComparison.Ordinal);
        Assert.Contains("./provisioning:/etc/grafana/provisioning:ro", compose, StringComparison.Ordinal);
        Assert.Contains("./prometheus:/etc/prometheus/roadmap:ro", compose, StringComparison.Ordinal);
        Assert.Contains("--config.file=/etc/prometheus/roadmap/prometheus.yml", compose, StringComparison.Ordinal);

        var prometheus = File.ReadAllText(Path.Combine(GrafanaFiles.PrometheusFolder, "prometheus.yml"));
        Assert.Contains("job_name: roadmap", prometheus, StringComparison.Ordinal);
        Assert.Contains("roadmap:9810", prometheus, StringComparison.Ordinal);
    }

    /// <summary>README.md's "## Metrics" section: the metrics contract.</summary>
    private static string MetricsSection()
    {
        var readme = File.ReadAllText(Path.Combine(Support.RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("## Metrics", StringComparison.Ordinal)..];
        return section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
    }

    private static string? DatasourceUid(JsonElement e) =>
        e.TryGetProperty("datasource", out var ds) && ds.ValueKind == JsonValueKind.Object && ds.TryGetProperty("uid", out var uid) ? uid.GetString() : null;

    [GeneratedRegex(@"\broadmap_[a-z0-9_]*[a-z0-9]\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"_(bucket|sum|count)$")]
    private static partial Regex HistogramSeries();
}
