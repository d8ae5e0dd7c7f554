using Roadmap.Core.Config;
using Roadmap.Sources.Network;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.Jira;

/// <summary>
/// kind: jira — counts the issues a JQL query matches. Cloud asks the approximate-count API; Data Center a search
/// with maxResults=0 and its total. Signal: count.
/// </summary>
public sealed class JiraSourceKind : ISourceKind
{
    public const string Count = "count";

    private static readonly IReadOnlyList<string> SignalNames = [Count];
    private static readonly string[] Editions = [JiraSearchOptions.Cloud, JiraSearchOptions.DataCenter];

    public string Kind => "jira";

    /// <summary>The keys of a jira source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("url", KeyType.Url, "the site, e.g. `https://acme.atlassian.net`, or the Data Center base URL with its context path; no query or fragment")
        {
            Required = true, Sample = "https://acme.atlassian.net",
        },
        new("jql", KeyType.Text, "e.g. `project = SEC AND statusCategory != Done`") { Required = true, Sample = "\"project = SEC\"" },
        new("edition", KeyType.Enum, "the Jira API to ask") { Default = "`cloud`", Allowed = Editions, Sample = "cloud" },
        new("email", KeyType.Text, "cloud only: the account the API token belongs to") { Default = "—", Sample = "bot@example.com" },
        new("token", KeyType.Text, "cloud: an API token, sent with `email` as basic auth; datacenter: a personal access token, sent as `Authorization: Bearer`. Printable ASCII without spaces")
        {
            Default = "— (anonymous)", Secret = true, Sample = "jira-example-token",
        },
        TlsSettings.Key("how the server is checked over `https://`, and the client certificate: see **TLS settings**"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var url = ApiConfig.BaseUrl(section, "url");
        var jql = section.Text("jql");
        var edition = section.OneOf("edition") ?? JiraSearchOptions.Cloud;
        var email = section.Text("email");
        var token = section.Secret("token");
        ApiConfig.CheckHeaderValue(section, "token", token);
        var hasToken = section.Has("token") || section.Has("tokenFile");
        if (edition == JiraSearchOptions.Cloud)
        {
            // Cloud API tokens only work with the account's email, as basic auth.
            if (section.Has("email") && !hasToken)
            {
                section.Error("email", "email is set but token is not: Jira Cloud takes the email with an API token (basic auth)");
            }
            else if (hasToken && !section.Has("email"))
            {
                section.Error(section.Has("token") ? "token" : "tokenFile", "Jira Cloud needs the account's email with an API token (basic auth); for a personal access token set edition: datacenter");
            }

            if (email is not null && (email.Length == 0 || email.Any(c => char.IsControl(c) || c == ':')))
            {
                section.Error("email", "must be an email address (no colon or line breaks)");
            }
        }
        else if (section.Has("email"))
        {
            section.Error("email", "Data Center authenticates with a personal access token alone (bearer): remove email");
        }

        var tls = TlsSettings.Bind(section);
        return new JiraSearchOptions(url ?? new Uri("http://invalid"), jql ?? "", edition, email, token) { Tls = tls };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new JiraSource(config, context);

}
