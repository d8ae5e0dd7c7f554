using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Sources.Api;
using Roadmap.Sources.Jira;

namespace Roadmap.Sources.Tests.Jira;

/// <summary>Loads jira sources through the real loader, with the kind added to the registered ones (once it is registered, it is not added twice).</summary>
internal static class JiraConfigs
{
    /// <summary>Retries without the backoff wait: for tests about what a fault becomes, not about how long the backoff is.</summary>
    public static readonly ApiClientOptions QuickRetries = new() { RetryDelay = TimeSpan.FromMilliseconds(1) };

    private static readonly JiraSourceKind Kind = new();

    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null)
    {
        var indented = string.Join('\n', source.Split('\n').Select(line => "  " + line));
        var yaml = $"roadmap: {{name: x}}\nsources:\n{indented}\n";
        return new ConfigLoader([.. SourceKinds.All.Where(k => k.Kind != Kind.Kind), Kind], environment ?? (_ => null)).Load(yaml, TestConfigs.File);
    }

    public static SourceConfig Source(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return Assert.Single(result.Config!.Sources);
    }

    public static List<string> Errors(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.False(result.IsValid);
        return result.Errors.Select(e => e.ToString()).ToList();
    }

    /// <summary>A jira source on <paramref name="url"/>; <paramref name="extra"/> adds YAML lines at the source's indent (edition, email, token).</summary>
    public static string Yaml(string url, string extra = "", string timeout = "1s") =>
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
