using Roadmap.Sources.Api;
using Roadmap.Sources.GitHub;

namespace Roadmap.Sources.Tests.GitHub;

/// <summary>github sources for tests, loaded like <see cref="TestConfigs"/> through the registered kinds.</summary>
internal static class GitHubConfigs
{
    /// <summary>Retries without the backoff wait: for tests about what a fault becomes, not about how long the backoff is.</summary>
    public static readonly ApiClientOptions QuickRetries = new() { RetryDelay = TimeSpan.FromMilliseconds(1) };

    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null) => TestConfigs.Load(source, environment);

    public static SourceConfig Source(string source, Func<string, string?>? environment = null) => TestConfigs.Source(source, environment);

    public static List<string> Errors(string source, Func<string, string?>? environment = null) => TestConfigs.Errors(source, environment);

    /// <summary>A github source on <paramref name="apiUrl"/>; <paramref name="extra"/> adds YAML lines at the source's indent.</summary>
    public static string Yaml(string apiUrl, string extra = "", string timeout = "5s") =>
        $"""
        - id: bugs
          kind: github
          timeout: {timeout}
          repository: acme/shop
          query: is:issue is:open label:bug
          apiUrl: {apiUrl}
        {string.Join('\n', extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l))}
        """;

    public static GitHubSource Create(string yaml, TimeProvider? time = null, ApiClientOptions? api = null, Func<string, string?>? environment = null) =>
        new(Source(yaml, environment), new SourceContext(time ?? TimeProvider.System, NullLoggerFactory.Instance), api);
}
