using System.Text;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.GitHub;

/// <summary>The keys of a github source.</summary>
/// <param name="Repository">owner/name; the search is scoped to it with a <c>repo:</c> qualifier.</param>
/// <param name="Query">Search qualifiers added to the repository's, e.g. <c>is:issue is:open label:bug</c>.</param>
/// <param name="Token">Sent as a bearer token; null for anonymous requests (public repositories, 10 searches a minute).</param>
/// <param name="ApiUrl">The REST API root. Default https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3.</param>
public sealed record GitHubSearchOptions(string Repository, string Query, string? Token, Uri ApiUrl) : ITlsOptions
{
    /// <summary>The <c>tls</c> block: how an https server is checked and who we say we are; null: the system's defaults.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>The issue search URL: <c>{ApiUrl}/search/issues?q=repo:OWNER/NAME QUERY&amp;per_page=1</c>, q escaped.</summary>
    public Uri SearchUrl =>
        new($"{ApiUrl.AbsoluteUri.TrimEnd('/')}/search/issues?q={Uri.EscapeDataString($"repo:{Repository} {Query}")}&per_page=1");

    // The record's generated ToString would print the token wherever a config is logged or asserted.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Repository = {Repository}, Query = {Query}, Token = {(Token is null ? "(none)" : "(set)")}, ApiUrl = {ApiUrl}, Tls = {Tls}");
        return true;
    }
}
