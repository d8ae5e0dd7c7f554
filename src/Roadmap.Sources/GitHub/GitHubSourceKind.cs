using System.Text.RegularExpressions;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.GitHub;

/// <summary>
/// kind: github — counts issues or pull requests through the search API. Signals: count (<c>total_count</c>) and
/// incomplete (1 when GitHub says the search timed out and the count may be low, else 0; the poll still succeeds).
/// </summary>
public sealed partial class GitHubSourceKind : ISourceKind
{
    public const string Count = "count";
    public const string Incomplete = "incomplete";

    /// <summary>github.com's REST API.</summary>
    public static readonly Uri DefaultApiUrl = new("https://api.github.com");

    private static readonly IReadOnlyList<string> SignalNames = [Count, Incomplete];

    public string Kind => "github";

    /// <summary>The keys of a github source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("repository", KeyType.Text, "`owner/name`; scopes the search") { Required = true, Pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,38}/[A-Za-z0-9._-]{1,100}$", Sample = "acme/shop" },
        new("query", KeyType.Text, "search qualifiers, e.g. `is:issue is:open label:security-incident`; must not contain `repo:`, `org:`, `user:` or `owner:` (the repository scopes it; `-repo:` is allowed)")
        {
            Required = true, Sample = "is:issue is:open",
        },
        new("token", KeyType.Text, "sent as `Authorization: Bearer`. Printable ASCII without spaces") { Default = "— (anonymous)", Secret = true, Sample = "ghp_example" },
        new("apiUrl", KeyType.Url, "GitHub Enterprise Server: `https://HOST/api/v3`; no query or fragment") { Default = "`https://api.github.com`", Sample = "https://github.example.com/api/v3" },
        TlsSettings.Key("how the server is checked over `https://`, and the client certificate: see **TLS settings**"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var repository = section.Text("repository");
        if (repository is not null && !RepositoryPattern().IsMatch(repository))
        {
            section.Error("repository", $"bad repository \"{section.Raw("repository")}\": expected owner/name, e.g. acme/shop");
        }

        var query = section.Text("query");
        if (query is not null && ScopeQualifier().Match(query) is { Success: true } scope)
        {
            section.Error("query", $"the query must not name its own scope ({scope.Groups[1].Value}:): the repository key scopes the search");
        }

        var token = section.Secret("token");
        ApiConfig.CheckHeaderValue(section, "token", token);
        var apiUrl = ApiConfig.BaseUrl(section, "apiUrl", required: false) ?? DefaultApiUrl;
        var tls = TlsSettings.Bind(section);
        return new GitHubSearchOptions(repository ?? "", query ?? "", token, apiUrl) { Tls = tls };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new GitHubSource(config, context);

    // GitHub logins: letters, digits, '-' ('_' on Enterprise managed users); names: letters, digits, '.', '_', '-'.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_-]{0,38}/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPattern();

    // Several repo: qualifiers are ORed, so a second scope would widen the count beyond the repository. (An excluding
    // -repo: cannot widen it, and is let be.)
    [GeneratedRegex(@"(?:^|\s)(repo|org|user|owner):", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ScopeQualifier();
}
