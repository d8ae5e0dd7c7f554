using Roadmap.Sources.DnsProbe;
using Roadmap.Sources.GitHub;
using Roadmap.Sources.GitLab;
using Roadmap.Sources.Http;
using Roadmap.Sources.Jira;
using Roadmap.Sources.Json;
using Roadmap.Sources.Prometheus;
using Roadmap.Sources.Redis;
using Roadmap.Sources.Sql;
using Roadmap.Sources.Tcp;

namespace Roadmap.Sources;

/// <summary>Every source kind, registered here and nowhere else. Adding a kind: its folder, one line here, its tests, the docs.</summary>
public static class SourceKinds
{
    public static IReadOnlyList<ISourceKind> All { get; } =
    [
        new HttpSourceKind(),
        new RedisSourceKind(),
        new PrometheusSourceKind(),
        new JsonSourceKind(),
        new GitHubSourceKind(),
        new GitLabSourceKind(),
        new JiraSourceKind(),
        new SqlSourceKind(),
        new TcpSourceKind(),
        new DnsSourceKind(),
    ];

    public static ISourceKind Get(string kind) =>
        All.FirstOrDefault(k => k.Kind == kind) ?? throw new ArgumentException($"unknown source kind \"{kind}\"", nameof(kind));
}
