using System.Text;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Jira;

/// <summary>The keys of a jira source.</summary>
/// <param name="Url">The site, e.g. https://acme.atlassian.net, or a Data Center base URL with its context path.</param>
/// <param name="Jql">The issues to count.</param>
/// <param name="Edition"><see cref="Cloud"/> (default) or <see cref="DataCenter"/>: which search API is asked.</param>
/// <param name="Email">Cloud: the account whose API token <paramref name="Token"/> is (basic auth).</param>
/// <param name="Token">Cloud: an API token, with <paramref name="Email"/>. Data Center: a personal access token (bearer). Null: anonymous.</param>
public sealed record JiraSearchOptions(Uri Url, string Jql, string Edition, string? Email, string? Token) : ITlsOptions
{
    /// <summary>The <c>tls</c> block: how an https server is checked and who we say we are; null: the system's defaults.</summary>
    public TlsSettings? Tls { get; init; }

    public const string Cloud = "cloud";
    public const string DataCenter = "datacenter";

    /// <summary>Cloud: POST {url}/rest/api/3/search/approximate-count with {"jql": ...}; answers {"count": N}.</summary>
    public Uri ApproximateCountUrl => new($"{Base}/rest/api/3/search/approximate-count");

    /// <summary>Data Center: GET {url}/rest/api/2/search?jql=...&amp;maxResults=0; answers {"total": N, ...} with no issues.</summary>
    public Uri SearchUrl => new($"{Base}/rest/api/2/search?jql={Uri.EscapeDataString(Jql)}&maxResults=0");

    private string Base => Url.AbsoluteUri.TrimEnd('/');

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Url = {Url}, Jql = {Jql}, Edition = {Edition}, Email = {Email ?? "(none)"}, Token = {(Token is null ? "(none)" : "(set)")}, Tls = {Tls}");
        return true;
    }
}
