using System.Text;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.GitLab;

/// <summary>The keys of a gitlab source.</summary>
/// <param name="Url">The instance's base URL, e.g. https://gitlab.example.com (the API is under /api/v4).</param>
/// <param name="Project">A project path such as acme/shop (or group/sub/name), or a numeric project id.</param>
/// <param name="Labels">Issues must carry every one of these; empty: any labels.</param>
/// <param name="State">opened (default), closed or all.</param>
/// <param name="Token">Sent as PRIVATE-TOKEN; null for anonymous requests (public projects only).</param>
public sealed record GitLabIssuesOptions(Uri Url, string Project, IReadOnlyList<string> Labels, string State, string? Token) : ITlsOptions
{
    /// <summary>The <c>tls</c> block: how an https server is checked and who we say we are; null: the system's defaults.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>GET {url}/api/v4/projects/{project}/issues_statistics — counts of all, opened and closed issues.</summary>
    public Uri StatisticsUrl => new($"{ProjectUrl}/issues_statistics?scope=all{LabelsParameter}");

    /// <summary>GET {url}/api/v4/projects/{project}/issues with one issue a page: the total is in X-Total. For instances without issues_statistics.</summary>
    public Uri IssuesUrl => new($"{ProjectUrl}/issues?scope=all{(State == "all" ? "" : $"&state={State}")}&per_page=1{LabelsParameter}");

    // A path's slashes are escaped (acme%2Fshop): the API takes it as one segment.
    private string ProjectUrl => $"{Url.AbsoluteUri.TrimEnd('/')}/api/v4/projects/{Uri.EscapeDataString(Project)}";

    // Labels are comma-separated in one parameter; the commas between them stay literal.
    private string LabelsParameter => Labels.Count == 0 ? "" : "&labels=" + string.Join(',', Labels.Select(Uri.EscapeDataString));

    /// <summary>Value equality, labels included (a reload keeps an unchanged source).</summary>
    public bool Equals(GitLabIssuesOptions? other) =>
        other is not null && Url == other.Url && Project == other.Project && ConfigEquality.Same(Labels, other.Labels)
        && State == other.State && Token == other.Token && Equals(Tls, other.Tls);

    public override int GetHashCode() => HashCode.Combine(Url, Project, ConfigEquality.Hash(Labels), State, Token, Tls);

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Url = {Url}, Project = {Project}, Labels = [{string.Join(", ", Labels)}], State = {State}, Token = {(Token is null ? "(none)" : "(set)")}, Tls = {Tls}");
        return true;
    }
}
