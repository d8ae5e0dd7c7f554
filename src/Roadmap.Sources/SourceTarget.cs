using Roadmap.Core.Config;

namespace Roadmap.Sources;

/// <summary>How an HTTP-based source names the URL it polls in a log line, without what may be a secret.</summary>
public static class SourceTarget
{
    /// <summary>
    /// <paramref name="url"/> as scheme, host, port and path: user info and query left out (either may carry a
    /// credential, e.g. <c>?api_key=</c>; a left-out query shows as <c>?…</c>), then every secret of the source
    /// redacted.
    /// </summary>
    public static string Of(Uri url, SourceConfig config)
    {
        var shown = url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        return config.Redact(url.Query.Length > 1 ? shown + "?…" : shown)!;
    }
}
