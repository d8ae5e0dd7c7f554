using System.Security.Authentication;

namespace Roadmap.Sources.Network;

/// <summary>TLS versions as the config names them (Prometheus' <c>min_version</c> values) and as a signal reports them.</summary>
public static class TlsVersions
{
    /// <summary>
    /// The names <c>minVersion</c> accepts. TLS 1.0 and 1.1 are left out: .NET marks them obsolete and current
    /// OpenSSL builds refuse them anyway, so a config asking for them could never be honoured.
    /// </summary>
    public static IReadOnlyList<string> Names { get; } = ["TLS12", "TLS13"];

    /// <summary>The protocols a handshake may use when <paramref name="name"/> (one of <see cref="Names"/>) is the oldest accepted.</summary>
    public static SslProtocols Parse(string name) => name.ToUpperInvariant() switch
    {
        "TLS13" => SslProtocols.Tls13,
        _ => SslProtocols.Tls12 | SslProtocols.Tls13,
    };

    /// <summary>
    /// The protocol as a number, for the <c>tls_version</c> signal: 1.2 for TLS 1.2, 1.3 for TLS 1.3, 1.0 and 1.1 for
    /// the obsolete ones (named by value: the enum members are marked obsolete). 0 when unknown.
    /// </summary>
    public static double Number(SslProtocols protocol) =>
        (int)protocol switch
        {
            (int)SslProtocols.Tls13 => 1.3,
            (int)SslProtocols.Tls12 => 1.2,
            0x300 => 1.1,
            0xC0 => 1.0,
            _ => 0,
        };
}
