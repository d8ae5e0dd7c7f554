using System.Text.RegularExpressions;
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
