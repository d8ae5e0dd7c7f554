using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Http;

/// <summary>The keys of an http source.</summary>
/// <param name="Method">The request method. Default GET.</param>
/// <param name="ExpectStatus">Status codes that count as up; empty: any 2xx.</param>
/// <param name="BodyContains">Text the body must contain to count as up; null: the body is not checked.</param>
public sealed record HttpProbeOptions(
    Uri Url,
    string Method,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<int> ExpectStatus,
    string? BodyContains) : ITlsOptions
{
    /// <summary>The most of a body that is read (and searched for <see cref="BodyContains"/>): 1 MiB.</summary>
    public const int MaxBodyBytes = 1 << 20;

    /// <summary>The <c>tls</c> block: how an https target (and an https redirect hop) is checked; null: the system's defaults.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>
    /// The <c>keepAlive</c> key: true keeps the connection open for the source's next probe (the connect is then
    /// measured only when a new one is opened); false (the default) opens a fresh connection per probe, as
    /// blackbox_exporter does.
    /// </summary>
    public bool KeepAlive { get; init; }

    /// <summary>Value equality, headers and expected statuses included (a reload keeps an unchanged source).</summary>
    public bool Equals(HttpProbeOptions? other) =>
        other is not null && Url == other.Url && Method == other.Method && ConfigEquality.Same(Headers, other.Headers)
        && ConfigEquality.Same(ExpectStatus, other.ExpectStatus) && BodyContains == other.BodyContains && Equals(Tls, other.Tls)
        && KeepAlive == other.KeepAlive;

    public override int GetHashCode() => HashCode.Combine(Url, Method, ConfigEquality.Hash(Headers), ConfigEquality.Hash(ExpectStatus), BodyContains, Tls, KeepAlive);
}
