using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Prometheus;

/// <summary>The keys of a prometheus source.</summary>
/// <param name="Url">The Prometheus server's base URL (with its path prefix, if it has one), e.g. http://127.0.0.1:9090.</param>
/// <param name="Query">The PromQL instant query; it must yield exactly one number.</param>
/// <param name="Headers">Sent with every request, e.g. Authorization: Bearer ${TOKEN}.</param>
public sealed record PrometheusQueryOptions(Uri Url, string Query, IReadOnlyDictionary<string, string> Headers) : ITlsOptions
{
    /// <summary>The <c>tls</c> block: how an https server is checked and who we say we are; null: the system's defaults.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>
    /// The instant query request: GET {url}/api/v1/query?query=... — parameters already on the URL (a proxy's, or
    /// Thanos' dedup=true) are kept.
    /// </summary>
    public Uri QueryUri
    {
        get
        {
            var uri = new UriBuilder(Url) { Fragment = "" };
            uri.Path = uri.Path.TrimEnd('/') + "/api/v1/query";
            var kept = uri.Query.TrimStart('?');
            uri.Query = (kept.Length > 0 ? kept + "&" : "") + "query=" + Uri.EscapeDataString(Query);
            return uri.Uri;
        }
    }

    /// <summary>Value equality, headers included (a reload keeps an unchanged source).</summary>
    public bool Equals(PrometheusQueryOptions? other) =>
        other is not null && Url == other.Url && Query == other.Query && ConfigEquality.Same(Headers, other.Headers) && Equals(Tls, other.Tls);

    public override int GetHashCode() => HashCode.Combine(Url, Query, ConfigEquality.Hash(Headers), Tls);
}
