using System.Text.RegularExpressions;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.GitLab;

/// <summary>
/// kind: gitlab — counts a project's issues, from issues_statistics, or from the X-Total header of the issues list
/// on instances without it. Signal: count.
/// </summary>
public sealed partial class GitLabSourceKind : ISourceKind
{
    public const string Count = "count";

    private static readonly IReadOnlyList<string> SignalNames = [Count];
    private static readonly string[] States = ["opened", "closed", "all"];

    public string Kind => "gitlab";

    /// <summary>The keys of a gitlab source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("url", KeyType.Url, "the instance, e.g. `https://gitlab.example.com`; no query or fragment") { Required = true, Sample = "https://gitlab.example.com" },
        new("project", KeyType.Text, "a path (`acme/shop`, `group/sub/name`; sent URL-encoded) or a numeric project id") { Required = true, Sample = "acme/shop" },
        new("labels", KeyType.TextList, "list; issues must carry every one; a label must not contain a comma") { Default = "— (any)", Sample = "[bug, ui]" },
        new("state", KeyType.Enum, "which issues count") { Default = "`opened`", Allowed = States, Sample = "closed" },
        new("token", KeyType.Text, "sent as `PRIVATE-TOKEN`. Printable ASCII without spaces") { Default = "— (anonymous: public projects)", Secret = true, Sample = "glpat-example" },
        TlsSettings.Key("how the server is checked over `https://`, and the client certificate: see **TLS settings**"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var url = ApiConfig.BaseUrl(section, "url");
        var project = section.Text("project");
        if (project is not null && !ProjectPattern().IsMatch(project))
        {
            section.Error("project", $"bad project \"{section.Raw("project")}\": expected a path such as acme/shop or a numeric project id");
        }

        var labels = new List<string>();
        foreach (var (label, at) in section.StringList("labels"))
        {
            if (label.Trim().Length == 0)
            {
                section.Error(at, "labels", "a label must not be empty");
            }
            else if (label.Contains(',', StringComparison.Ordinal))
            {
                section.Error(at, "labels", $"bad label \"{label}\": the API separates labels with commas; write a list, e.g. [bug, ui]");
            }
            else
            {
                labels.Add(label);
            }
        }

        var state = section.OneOf("state") ?? "opened";
        var token = section.Secret("token");
        ApiConfig.CheckHeaderValue(section, "token", token);
        var tls = TlsSettings.Bind(section);
        return new GitLabIssuesOptions(url ?? new Uri("http://invalid"), project ?? "", labels, state, token) { Tls = tls };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new GitLabSource(config, context);

    // A numeric id, or namespace/…/name whose parts are letters, digits, '_', '-' and '.' (GitLab's path rules).
    [GeneratedRegex(@"^(?:[1-9][0-9]{0,18}|[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ProjectPattern();
}
