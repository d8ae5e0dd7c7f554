using System.Text.RegularExpressions;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>The alerting rules as promtool sees them, their unit tests, and what every alert must carry.</summary>
public sealed class PromtoolTests
{
    [Fact]
    public async Task CheckRules_EveryRuleFile_ExitsZero()
    {
        var files = GrafanaFiles.RuleFiles();
        Assert.NotEmpty(files);

        var (exit, output) = await Tools.RunAsync("promtool", GrafanaFiles.PrometheusFolder, ["check", "rules", .. files]);

        Assert.True(exit == 0, output);
        Assert.DoesNotContain("FAILED", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TestRules_EveryTestFileBesideTheRules_ExitsZero()
    {
        var files = GrafanaFiles.RuleTestFiles();
        Assert.NotEmpty(files);

        var (exit, output) = await Tools.RunAsync("promtool", GrafanaFiles.PrometheusFolder, ["test", "rules", .. files]);

        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_TheComposeStacksPrometheusConfig_ExitsZeroAndLoadsTheRules()
    {
        var (exit, output) = await Tools.RunAsync("promtool", GrafanaFiles.PrometheusFolder, "check", "config", "prometheus.yml");

        Assert.True(exit == 0, output);
        Assert.Contains($"SUCCESS: {GrafanaFiles.RuleFiles().Count} rule files found", output, StringComparison.Ordinal);
    }

    /// <summary>The one place a runbook link's base comes from: the external label prometheus.yml sets.</summary>
    private const string RunbookBase = "{{ $externalLabels.runbook_base_url }}";

    [Fact]
    public void RunbookUrls_TheRepositoryAsTheBase_EachResolvesToAHeadingOfAnExistingFile()
    {
        // Rendered as Prometheus renders it when runbook_base_url is the repository: the link must open a file that
        // exists and land on one of its headings (GitHub's anchor: lowercase, punctuation dropped, spaces as dashes).
        var root = Support.RepositoryRoot();
        var baseUrl = new Uri(Path.TrimEndingDirectorySeparator(root) + "/").AbsoluteUri.TrimEnd('/');
        var problems = new List<string>();
        var alerts = GrafanaFiles.Rules().Where(r => r.IsAlert).ToList();
        Assert.NotEmpty(alerts);
        foreach (var alert in alerts)
        {
            var template = alert.Annotations.GetValueOrDefault("runbook_url") ?? "";
            if (!template.StartsWith(RunbookBase, StringComparison.Ordinal) || template.IndexOf("{{", RunbookBase.Length, StringComparison.Ordinal) >= 0)
            {
                problems.Add($"{alert.Name}: runbook_url \"{template}\" does not start with {RunbookBase} (and nothing else templated)");
                continue;
            }

            var link = new Uri(baseUrl + template[RunbookBase.Length..]);
            var file = link.LocalPath;
            if (!File.Exists(file))
            {
                problems.Add($"{alert.Name}: {link} names no file");
                continue;
            }

            var anchors = Regex.Matches(File.ReadAllText(file), @"^#+ (.+?)\s*$", RegexOptions.Multiline)
                .Select(m => Regex.Replace(m.Groups[1].Value.ToLowerInvariant(), @"[^a-z0-9 _-]", "").Replace(' ', '-'))
                .ToHashSet(StringComparer.Ordinal);
            if (link.Fragment.Length < 2 || !anchors.Contains(link.Fragment[1..]))
            {
                problems.Add($"{alert.Name}: {link} has no heading for its anchor in {Path.GetFileName(file)}");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task ReadmeCommands_PromtoolFromTheRepositoryRoot_EachExitsZero()
    {
        // The commands a reader copies: shell globs over the folders, so a file added there is checked without an edit.
        var readme = File.ReadAllText(Path.Combine(Support.RepositoryRoot(), "README.md"));
        var commands = Regex.Matches(readme, @"^promtool (check|test) .+$", RegexOptions.Multiline).Select(m => m.Value.Trim()).ToList();
        Assert.Contains(commands, c => c.StartsWith("promtool check rules ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.StartsWith("promtool test rules ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.StartsWith("promtool check config ", StringComparison.Ordinal));

        foreach (var command in commands)
        {
            var (exit, output) = await Tools.RunAsync("bash", Support.RepositoryRoot(), "-c", command);

            Assert.True(exit == 0, $"{command}\n{output}");
            Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void RuleTests_EveryAlert_IsTestedFiringAndNotFiring()
    {
        var cases = GrafanaFiles.AlertTestCases();
        var missing = GrafanaFiles.Rules().Where(r => r.IsAlert)
            .SelectMany(r => new[] { (r.Name, Firing: true), (r.Name, Firing: false) })
            .Where(want => !cases.Any(c => c.Alert == want.Name && c.ExpectsFiring == want.Firing))
            .Select(want => $"{want.Name}: no promtool case that expects it {(want.Firing ? "firing" : "not firing")}")
            .ToList();

        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    [Fact]
    public void Rules_EveryAlert_HasSeveritySummaryDescriptionAndARunbookSection()
    {
        var runbook = File.ReadAllText(Path.Combine(Support.RepositoryRoot(), "docs", "RUNBOOK.md"));
        var headings = Regex.Matches(runbook, @"^## (\S+)\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var alert in GrafanaFiles.Rules().Where(r => r.IsAlert))
        {
            if (alert.Labels.GetValueOrDefault("severity") is not ("critical" or "warning" or "info"))
            {
                problems.Add($"{alert.Name}: severity is not critical, warning or info");
            }

            foreach (var key in new[] { "summary", "description" })
            {
                if (string.IsNullOrWhiteSpace(alert.Annotations.GetValueOrDefault(key)))
                {
                    problems.Add($"{alert.Name}: no {key} annotation");
                }
            }

            // GitHub's anchor for the heading "## RoadmapKpiMissed" is #roadmapkpimissed.
            if (alert.Annotations.GetValueOrDefault("runbook_url") != RunbookBase + "/docs/RUNBOOK.md#" + alert.Name.ToLowerInvariant())
            {
                problems.Add($"{alert.Name}: runbook_url annotation is not {RunbookBase}/docs/RUNBOOK.md#{alert.Name.ToLowerInvariant()}");
            }

            if (!headings.Contains(alert.Name))
            {
                problems.Add($"{alert.Name}: no section \"## {alert.Name}\" in docs/RUNBOOK.md");
            }

            // A KPI alert names the initiative, the KPI, the value and the target.
            if (alert.Expr.Contains("roadmap_kpi_", StringComparison.Ordinal))
            {
                var text = alert.Annotations.GetValueOrDefault("summary") + alert.Annotations.GetValueOrDefault("description");
                foreach (var part in new[] { "$labels.initiative", "$labels.kpi", "roadmap_kpi_target" })
                {
                    if (!text.Contains(part, StringComparison.Ordinal))
                    {
                        problems.Add($"{alert.Name}: annotations do not use {part}");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
