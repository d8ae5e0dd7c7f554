using System.Text.RegularExpressions;
using Roadmap.Core.Config;

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

    public object Bind(ConfigSection section)
    {
        var url = BaseUrl(section, "url");
        var project = section.Text("project", required: true);
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

        var state = section.OneOf("state", States) ?? "opened";
        var token = section.Secret("token");
        CheckHeaderValue(section, "token", token);
        return new GitLabIssuesOptions(url ?? new Uri("http://invalid"), project ?? "", labels, state, token);
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new GitLabSource(config, context);

    /// <summary>An http(s) URL that paths are appended to: no query or fragment.</summary>
    private static Uri? BaseUrl(ConfigSection section, string key)
    {
        var url = section.Url(key, required: true);
        if (url is not null && (url.Query.Length > 0 || url.Fragment.Length > 0))
        {
            section.Error(key, $"bad URL \"{section.Raw(key)}\": API paths are appended to it, so it must not have a query or fragment");
            return null;
        }

        return url;
    }

    /// <summary>A secret sent in a header must be printable ASCII; the error never quotes it.</summary>
    private static void CheckHeaderValue(ConfigSection section, string key, string? secret)
    {
        if (secret is null)
        {
            return;
        }

        var where = section.Has(key) || !section.Has(key + "File") ? key : key + "File";
        if (secret.Length == 0)
        {
            section.Error(where, "must not be empty (leave the key out for anonymous requests)");
        }
        else if (!secret.All(c => c is > ' ' and < '\u007f'))
        {
            section.Error(where, "must be printable ASCII without spaces or line breaks (it is sent in an HTTP header)");
        }
    }

    // A numeric id, or namespace/…/name whose parts are letters, digits, '_', '-' and '.' (GitLab's path rules).
    [GeneratedRegex(@"^(?:[1-9][0-9]{0,18}|[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ProjectPattern();
}
