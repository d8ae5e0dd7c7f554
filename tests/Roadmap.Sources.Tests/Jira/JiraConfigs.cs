using Roadmap.Sources.Api;
using Roadmap.Sources.Jira;

namespace Roadmap.Sources.Tests.Jira;

/// <summary>jira sources for tests, loaded like <see cref="TestConfigs"/> through the registered kinds.</summary>
internal static class JiraConfigs
{
    /// <summary>Retries without the backoff wait: for tests about what a fault becomes, not about how long the backoff is.</summary>
    public static readonly ApiClientOptions QuickRetries = new() { RetryDelay = TimeSpan.FromMilliseconds(1) };

    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null) => TestConfigs.Load(source, environment);

    public static SourceConfig Source(string source, Func<string, string?>? environment = null) => TestConfigs.Source(source, environment);

    public static List<string> Errors(string source, Func<string, string?>? environment = null) => TestConfigs.Errors(source, environment);

    /// <summary>A jira source on <paramref name="url"/>; <paramref name="extra"/> adds YAML lines at the source's indent (edition, email, token).</summary>
    public static string Yaml(string url, string extra = "", string timeout = "5s") =>
        $"""
        - id: incidents
          kind: jira
          timeout: {timeout}
          url: {url}
          jql: project = SHOP AND issuetype = Incident AND statusCategory != Done
        {string.Join('\n', extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l))}
        """;

    public static JiraSource Create(string yaml, TimeProvider? time = null, ApiClientOptions? api = null, Func<string, string?>? environment = null) =>
        new(Source(yaml, environment), new SourceContext(time ?? TimeProvider.System, NullLoggerFactory.Instance), api);
}
