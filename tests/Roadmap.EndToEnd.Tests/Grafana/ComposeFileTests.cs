using System.Text.RegularExpressions;
using Roadmap.Worker.Cluster;
using YamlDotNet.RepresentationModel;

namespace Roadmap.EndToEnd.Tests.Grafana;

/// <summary>
/// The compose stack's worker, as far as it can be checked without Docker: the config reaches the running worker
/// through a read-only mount (so hot reload sees an edit), and the build context leaves build output and data out.
/// </summary>
public sealed class ComposeFileTests
{
    private static YamlMappingNode RoadmapService()
    {
        var compose = GrafanaFiles.Load(Path.Combine(GrafanaFiles.Folder, "docker-compose.yml"));
        var services = (YamlMappingNode)((YamlMappingNode)compose).Children[new YamlScalarNode("services")];
        return (YamlMappingNode)services.Children[new YamlScalarNode("roadmap")];
    }

    private static string Dockerfile(YamlMappingNode service) =>
        GrafanaFiles.Scalar(service.Children[new YamlScalarNode("build")], "dockerfile_inline") ?? "";

    [Fact]
    public void Compose_RoadmapService_MountsTheConfigFolderReadOnlyWhereTheWorkerReadsIt()
    {
        var service = RoadmapService();
        var dockerfile = Dockerfile(service);
        // The worker reads config/roadmap.yaml against its working directory: the image's last WORKDIR.
        var workdir = Regex.Matches(dockerfile, @"^\s*WORKDIR\s+(\S+)\s*$", RegexOptions.Multiline).Last().Groups[1].Value;
        var volumes = GrafanaFiles.Sequence(service, "volumes").OfType<YamlScalarNode>().Select(v => v.Value ?? "").ToList();

        // The folder, not the file: an editor that renames a new file into place replaces the folder's entry, which a
        // file mount would never show.
        var mount = Assert.Single(volumes, v => v.Split(':')[1] == workdir.TrimEnd('/') + "/config");
        var parts = mount.Split(':');
        Assert.Equal("ro", parts.ElementAtOrDefault(2));
        var source = Path.GetFullPath(Path.Combine(GrafanaFiles.Folder, parts[0]));
        Assert.True(File.Exists(Path.Combine(source, "roadmap.yaml")), $"{parts[0]} (from grafana/) holds no roadmap.yaml");
    }

    [Fact]
    public void Compose_RoadmapImage_CopiesNoConfig()
    {
        var copies = Regex.Matches(Dockerfile(RoadmapService()), @"^\s*COPY\s+(.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

        Assert.NotEmpty(copies);
        Assert.DoesNotContain(copies, c => Regex.IsMatch(c, @"(^|\s)\.?/?config\b"));
    }

    [Theory]
    [InlineData("src/Roadmap.Worker/bin/Debug/net10.0/Roadmap.Worker.dll")]
    [InlineData("src/Roadmap.Core/obj/project.assets.json")]
    [InlineData("tests/Roadmap.Worker.Tests/TestResults/run.trx")]
    [InlineData("src/Roadmap.Storage/TestResults/coverage.xml")]
    [InlineData("data/roadmap.db")]
    [InlineData("src/Roadmap.Worker/data/shop.db-wal")]
    [InlineData(".git/HEAD")]
    [InlineData("config/roadmap.yaml")]
    public void Dockerignore_BuildOutputDataAndHistory_AreLeftOutOfTheContext(string path)
    {
        Assert.True(DockerIgnore.Excludes(Patterns(), path), $"{path} is sent to the Docker build");
    }

    [Theory]
    [InlineData("src/Roadmap.Worker/Program.cs")]
    [InlineData("src/Roadmap.Worker/Roadmap.Worker.csproj")]
    [InlineData("Directory.Build.props")]
    [InlineData("Directory.Packages.props")]
    [InlineData(".editorconfig")]
    public void Dockerignore_WhatTheImageCopies_IsInTheContext(string path)
    {
        Assert.False(DockerIgnore.Excludes(Patterns(), path), $"{path} is left out of the Docker build, which copies it");
    }

    private static string[] Patterns() =>
        File.ReadAllLines(Path.Combine(Support.RepositoryRoot(), ".dockerignore"));

    private static YamlMappingNode ClusterServices() =>
        (YamlMappingNode)((YamlMappingNode)GrafanaFiles.Load(Path.Combine(GrafanaFiles.Folder, "docker-compose.cluster.yml"))).Children[new YamlScalarNode("services")];

    /// <summary>The cluster stack's Roadmap replicas: the services started with --instance-id, with their command.</summary>
    private static List<(string Name, YamlMappingNode Service, List<string> Command)> ClusterReplicas() =>
        [.. ClusterServices().Children
            .Select(kv => (Name: ((YamlScalarNode)kv.Key).Value ?? "", Service: (YamlMappingNode)kv.Value,
                Command: GrafanaFiles.Sequence(kv.Value, "command").OfType<YamlScalarNode>().Select(c => c.Value ?? "").ToList()))
            .Where(r => r.Command.Contains("--instance-id"))];

    private static string Option(List<string> command, string name) =>
        command.IndexOf(name) is var i and >= 0 && i + 1 < command.Count ? command[i + 1] : throw new InvalidOperationException($"no {name} in {string.Join(' ', command)}");

    [Fact]
    public void ClusterCompose_Replicas_ThreeWithUniqueIdsOnOneClusterConfigAndOnePostgres()
    {
        var replicas = ClusterReplicas();
        Assert.Equal(3, replicas.Count);
        Assert.Equal(3, replicas.Select(r => Option(r.Command, "--instance-id")).Distinct(StringComparer.Ordinal).Count());
        Assert.Single(replicas.Select(r => Option(r.Command, "--config")).Distinct(StringComparer.Ordinal));
        Assert.Equal(3, replicas.SelectMany(r => GrafanaFiles.Sequence(r.Service, "ports").OfType<YamlScalarNode>().Select(p => p.Value)).Distinct().Count());

        foreach (var (name, service, command) in replicas)
        {
            // The config is read from the read-only config mount, as in the single-process stack.
            var workdir = Regex.Matches(Dockerfile(service), @"^\s*WORKDIR\s+(\S+)\s*$", RegexOptions.Multiline).Last().Groups[1].Value.TrimEnd('/');
            var mount = Assert.Single(GrafanaFiles.Sequence(service, "volumes").OfType<YamlScalarNode>().Select(v => (v.Value ?? "").Split(':')), v => v[1] == workdir + "/config");
            Assert.Equal("ro", mount.ElementAtOrDefault(2));
            var configPath = Option(command, "--config");
            Assert.StartsWith("config/", configPath, StringComparison.Ordinal);
            var config = Path.GetFullPath(Path.Combine(GrafanaFiles.Folder, mount[0], configPath["config/".Length..]));
            Assert.True(File.Exists(config), $"{name}: {configPath} is not in {mount[0]} (from grafana/)");

            // That config is a cluster on PostgreSQL whose connection string the service's environment gives, naming
            // a service of this file that the replica waits for.
            var settings = ((YamlMappingNode)GrafanaFiles.Load(config)).Children[new YamlScalarNode("settings")];
            var storage = ((YamlMappingNode)settings).Children[new YamlScalarNode("storage")];
            var cluster = ((YamlMappingNode)settings).Children[new YamlScalarNode("cluster")];
            Assert.Equal("postgres", GrafanaFiles.Scalar(storage, "kind"));
            Assert.Equal("true", GrafanaFiles.Scalar(cluster, "enabled"));
            var variable = Regex.Match(GrafanaFiles.Scalar(storage, "connectionString") ?? "", @"^\$\{(\w+)\}$").Groups[1].Value;
            var connection = GrafanaFiles.Scalar(service.Children[new YamlScalarNode("environment")], variable) ?? "";
            var host = Regex.Match(connection, @"(?:^|;)Host=([^;]+)").Groups[1].Value;
            Assert.True(ClusterServices().Children.ContainsKey(new YamlScalarNode(host)), $"{name}: {variable} names host \"{host}\", no service of the file");
            var dependsOn = (YamlMappingNode)service.Children[new YamlScalarNode("depends_on")];
            Assert.Equal("service_healthy", GrafanaFiles.Scalar(dependsOn.Children[new YamlScalarNode(host)], "condition"));

            // A graceful stop polls the windows the replica owns to their end: up to two windows and the lead a window
            // is claimed ahead by. Docker must wait that long before it kills the replica.
            var window = Seconds(GrafanaFiles.Scalar(cluster, "window") ?? "");
            var grace = Seconds(GrafanaFiles.Scalar(service, "stop_grace_period") ?? "10s");
            var handOver = (2 * window) + ClusterMembership.Lead.TotalSeconds;
            Assert.True(grace > handOver, $"{name}: stop_grace_period {grace} s is not more than a hand-over ({handOver} s)");

            // A replica frozen inside a transaction must not hold Quartz's lock, and so stall every replica's claims,
            // longer than the windows are claimed ahead.
            var postgres = GrafanaFiles.Sequence(ClusterServices().Children[new YamlScalarNode(host)], "command").OfType<YamlScalarNode>().Select(c => c.Value ?? "");
            var idle = postgres.Select(c => Regex.Match(c, @"^idle_in_transaction_session_timeout=(\S+)$")).SingleOrDefault(m => m.Success);
            Assert.True(idle is not null, $"{host}: no idle_in_transaction_session_timeout");
            var horizon = ClusterMembership.Lead.TotalSeconds + (3 * window / ClusterService.ClaimTriggers);
            Assert.True(Seconds(idle.Groups[1].Value) < horizon, $"{host}: idle_in_transaction_session_timeout is not below the claim horizon ({horizon} s)");
        }

        static double Seconds(string duration)
        {
            var m = Regex.Match(duration, @"^(\d+)(ms|s|m)$");
            Assert.True(m.Success, $"not a duration this test reads: {duration}");
            var n = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return m.Groups[2].Value switch { "ms" => n / 1000, "m" => n * 60, _ => n };
        }
    }

    [Fact]
    public async Task ClusterCompose_ReplicasConfig_IsValidWithTheConnectionStringTheComposeFileGives()
    {
        var (_, service, command) = ClusterReplicas()[0];
        var environment = ((YamlMappingNode)service.Children[new YamlScalarNode("environment")]).Children
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => (string?)((YamlScalarNode)kv.Value).Value);
        var config = Path.Combine(Support.RepositoryRoot(), Option(command, "--config"));
        var dir = Support.TempFolder();
        try
        {
            await using var validate = await WorkerProcess.RunAsync(dir, TimeSpan.FromSeconds(60), environment, "validate", "--config", config);

            Assert.True(validate.ExitCode == 0, validate.Stdout + validate.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ClusterCompose_Prometheus_ScrapesEveryReplicaAsJobRoadmap()
    {
        var services = ClusterServices();
        var prometheus = (YamlMappingNode)services.Children[new YamlScalarNode("prometheus")];
        var configArg = GrafanaFiles.Sequence(prometheus, "command").OfType<YamlScalarNode>().Select(c => c.Value ?? "").Single(c => c.StartsWith("--config.file=", StringComparison.Ordinal));
        var inContainer = configArg["--config.file=".Length..];
        var mount = GrafanaFiles.Sequence(prometheus, "volumes").OfType<YamlScalarNode>().Select(v => (v.Value ?? "").Split(':'))
            .Single(v => inContainer.StartsWith(v[1] + "/", StringComparison.Ordinal));
        var file = Path.GetFullPath(Path.Combine(GrafanaFiles.Folder, mount[0], inContainer[(mount[1].Length + 1)..]));
        Assert.True(File.Exists(file), $"{configArg} is no file under grafana/{mount[0]}");

        var job = Assert.Single(GrafanaFiles.Sequence(GrafanaFiles.Load(file), "scrape_configs"), j => GrafanaFiles.Scalar(j, "job_name") == "roadmap");
        var targets = GrafanaFiles.Sequence(job, "static_configs").SelectMany(c => GrafanaFiles.Sequence(c, "targets")).OfType<YamlScalarNode>().Select(t => t.Value ?? "").Order(StringComparer.Ordinal);
        var replicas = ClusterReplicas().Select(r => r.Name + ":" + new Uri(Option(r.Command, "--urls")).Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal);
        Assert.Equal(replicas, targets);
    }

    [Fact]
    public void ClusterCompose_Replicas_BuildTheSingleProcessStacksImage()
    {
        var single = RoadmapService();
        foreach (var (name, service, _) in ClusterReplicas())
        {
            Assert.True(Dockerfile(single) == Dockerfile(service), $"{name} builds another image than docker-compose.yml's roadmap");
            Assert.Equal(GrafanaFiles.Scalar(single.Children[new YamlScalarNode("build")], "context"), GrafanaFiles.Scalar(service.Children[new YamlScalarNode("build")], "context"));
        }
    }
}

/// <summary>Docker's .dockerignore matching: Go's filepath.Match per path element, <c>**</c> for any depth, a
/// matched folder leaves out everything below it, <c>!</c> takes a path back, and the last matching line wins.</summary>
internal static class DockerIgnore
{
    public static bool Excludes(IEnumerable<string> lines, string path)
    {
        var excluded = false;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var negate = line.StartsWith('!');
            var pattern = (negate ? line[1..] : line).Trim().Trim('/');
            if (Matches(pattern, path))
            {
                excluded = !negate;
            }
        }

        return excluded;
    }

    private static bool Matches(string pattern, string path)
    {
        var regex = "^" + string.Concat(Regex.Split(pattern, @"(\*\*/?|\*|\?)").Select(part => part switch
        {
            "**/" => "(.*/)?",
            "**" => ".*",
            "*" => "[^/]*",
            "?" => "[^/]",
            _ => Regex.Escape(part),
        })) + "(/.*)?$";
        return Regex.IsMatch(path, regex);
    }
}
