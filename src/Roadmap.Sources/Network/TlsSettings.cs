using System.Security.Authentication;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Network;

/// <summary>
/// A source's <c>tls</c> block: how it checks the server and who it says it is, with the field names of Prometheus'
/// <c>tls_config</c>. One declaration (<see cref="Keys"/>) and one reader (<see cref="Bind"/>) for every kind that
/// speaks TLS; <see cref="TlsClient"/> turns it into handshake options and reloads its files when they change.
/// </summary>
/// <param name="CaFile">PEM file of the certificate authorities trusted instead of the system's; null: the system store.</param>
/// <param name="CertFile">PEM file of the client certificate (and its intermediates), sent when the server asks; needs <paramref name="KeyFile"/>.</param>
/// <param name="KeyFile">PEM file of the client certificate's private key. A secret: never read into a message or a log.</param>
/// <param name="ServerName">The name sent as SNI and checked against the server's certificate; null: the host connected to.</param>
/// <param name="InsecureSkipVerify">Accept any server certificate (logged as a warning). Default false.</param>
/// <param name="MinVersion">The oldest protocol accepted; null: the system's default.</param>
public sealed record TlsSettings(
    string? CaFile,
    string? CertFile,
    string? KeyFile,
    string? ServerName,
    bool InsecureSkipVerify,
    SslProtocols? MinVersion)
{
    /// <summary>
    /// The largest TLS file read: 1 MiB. A CA bundle (the whole Mozilla store is a few hundred KiB) fits; anything
    /// larger is no certificate file, and the cap keeps a misnamed file (a log, a disk image) from being read whole.
    /// </summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>No settings: the system's trust store, no client certificate, the host's own name.</summary>
    public static TlsSettings Default { get; } = new(null, null, null, null, false, null);

    /// <summary>The keys of a <c>tls</c> block, as Prometheus' <c>tls_config</c> spells them (camelCase).</summary>
    public static readonly IReadOnlyList<KeySpec> Keys =
    [
        new("caFile", KeyType.Text, "PEM file of the certificate authorities to trust instead of the system's (a private CA)") { Default = "— (the system's)", Sample = "ca.pem" },
        new("certFile", KeyType.Text, "PEM file of the client certificate (its intermediates may follow), sent when the server asks; needs `keyFile`") { Default = "—", Sample = "client.pem" },
        new("keyFile", KeyType.Text, "PEM file of the client certificate's private key (never logged)") { Default = "—", Sample = "client-key.pem" },
        new("serverName", KeyType.Text, "the name sent as SNI and checked against the server's certificate") { Default = "the host connected to", Sample = "shop.internal" },
        new("insecureSkipVerify", KeyType.Boolean, "accept any server certificate; logged as a warning at start and on reload") { Default = "`false`", Sample = "false" },
        new("minVersion", KeyType.Enum, "the oldest TLS version accepted") { Default = "the system's (TLS 1.2)", Allowed = [.. TlsVersions.Names], Sample = "TLS12" },
    ];

    /// <summary>The <c>tls</c> key of a kind, described for that kind.</summary>
    public static KeySpec Key(string description) => new("tls", KeyType.Mapping, description) { Default = "—", Keys = Keys, OwnTable = true };

    /// <summary>
    /// Reads the <c>tls</c> block of <paramref name="section"/>; null when it has none. Every file is read and parsed
    /// now (<see cref="TlsMaterial.Load"/>), so a missing file, one that is no PEM, a key without a certificate, a key
    /// that does not match its certificate or an unknown version is a config error at its key.
    /// </summary>
    public static TlsSettings? Bind(ConfigSection section, string key = "tls")
    {
        if (section.Section(key) is not { } tls)
        {
            return null;
        }

        var settings = Read(tls);
        tls.RejectUnknownKeys(Keys);
        return settings;
    }

    /// <summary>Reads the keys of a <c>tls</c> mapping (<paramref name="tls"/>); reports errors there.</summary>
    public static TlsSettings Read(ConfigSection tls)
    {
        var ca = tls.Text("caFile");
        var cert = tls.Text("certFile");
        var keyFile = tls.Text("keyFile");
        var serverName = tls.Text("serverName");
        var insecure = tls.Bool("insecureSkipVerify") ?? false;
        SslProtocols? min = tls.OneOf("minVersion", TlsVersions.Names) is { } name ? TlsVersions.Parse(name) : null;
        if (keyFile is not null && cert is null)
        {
            tls.Error("keyFile", "a keyFile needs its certFile: set certFile too");
        }
        else if (cert is not null && keyFile is null)
        {
            tls.Error("certFile", "a certFile needs its private key: set keyFile too");
        }

        if (serverName is not null && Uri.CheckHostName(serverName) is UriHostNameType.Unknown)
        {
            tls.Error("serverName", $"bad serverName \"{tls.Raw("serverName")}\": expected a host name");
        }

        var settings = new TlsSettings(Empty(ca), Empty(cert), Empty(keyFile), Empty(serverName), insecure, min);
        var material = TlsMaterial.Load(settings);
        foreach (var (file, problem) in material.Problems)
        {
            tls.Error(file, problem);
        }

        return settings;
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>The options of a kind that takes a <c>tls</c> block, so the shared HTTP client finds it.</summary>
public interface ITlsOptions
{
    /// <summary>The source's <c>tls</c> block; null when it has none (the system's defaults).</summary>
    TlsSettings? Tls { get; }
}
