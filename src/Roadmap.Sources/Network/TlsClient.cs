using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Roadmap.Sources.Network;

/// <summary>
/// The TLS client side of one source: its <see cref="TlsSettings"/>, the certificates its files hold (reloaded when a
/// file changes: checked before each handshake, one stat per file), and the handshake itself — the server checked
/// against <c>caFile</c> (or the system store) and <c>serverName</c> (or the host), the client certificate offered,
/// the protocol and the earliest expiry of the certificates the server sent recorded. Used by every kind that
/// speaks TLS: the http and API kinds through <see cref="TracedConnect"/>, redis and postgres through the options
/// their client libraries take.
/// </summary>
public sealed partial class TlsClient
{
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly string _source;
    private readonly Lock _gate = new();
    private TlsMaterial _material;

    /// <summary>Reads the files of <paramref name="settings"/> and warns once if it skips verification.</summary>
    /// <param name="settings">The source's <c>tls</c> block; <see cref="TlsSettings.Default"/> when it has none.</param>
    /// <param name="source">The source's id, for log lines.</param>
    public TlsClient(TlsSettings settings, string source, ILogger log, TimeProvider time)
    {
        Settings = settings;
        _source = source;
        _log = log;
        _time = time;
        _material = TlsMaterial.Load(settings);
        if (settings.InsecureSkipVerify)
        {
            // Every start and every reload creates the source again, so this is said each time.
            LogInsecure(_log, source);
        }
    }

    /// <summary>The settings in force.</summary>
    public TlsSettings Settings { get; }

    /// <summary>
    /// The certificates in force: the files are read again when any of them changed since they were last read. A
    /// file that can no longer serve (gone, not PEM, a key that no longer matches) makes <see cref="Options"/> throw
    /// <see cref="TlsFilesException"/>, so the poll fails saying which; fixing the file is picked up the same way.
    /// </summary>
    public TlsMaterial Current()
    {
        lock (_gate)
        {
            if (_material.Changed(Settings))
            {
                _material = TlsMaterial.Load(Settings);
                if (_material.Problems.Count == 0)
                {
                    LogReloaded(_log, _source);
                    if (Settings.InsecureSkipVerify)
                    {
                        LogInsecure(_log, _source);
                    }
                }
            }

            return _material;
        }
    }

    /// <summary>
    /// The options of one handshake with <paramref name="host"/> (or <c>serverName</c>): the certificate check, the
    /// client certificate, the protocols. What the check sees is written to <paramref name="trace"/>.
    /// </summary>
    /// <exception cref="TlsFilesException">A TLS file can no longer serve.</exception>
    public SslClientAuthenticationOptions Options(string host, ConnectionTrace trace, List<SslApplicationProtocol>? protocols = null)
    {
        var material = Current();
        if (Problem(material) is { } problem)
        {
            throw new TlsFilesException(problem);
        }

        var targetHost = Settings.ServerName ?? host.Trim('[', ']');
        return new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = Settings.MinVersion ?? SslProtocols.None,
            ClientCertificateContext = material.Client,
            ApplicationProtocols = protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Validate(certificate, chain, errors, material, targetHost, trace),
        };
    }

    /// <summary>
    /// Why the TLS files cannot serve now (after a reload, <see cref="Current"/>), as a failure reason naming the key and
    /// the file; null when they can. For clients that build their handshake inside a library and should fail first.
    /// </summary>
    public string? Problem() => Problem(Current());

    private static string? Problem(TlsMaterial material) => material.Problems.Count > 0 ? $"tls: {material.Problems[0].Problem}" : null;

    /// <summary>
    /// Runs the handshake over <paramref name="transport"/> (which the returned stream owns), recording its duration,
    /// protocol and certificate expiry in <paramref name="trace"/>. A rejected certificate throws an
    /// <see cref="AuthenticationException"/> saying why in an operator's words.
    /// </summary>
    public async Task<SslStream> AuthenticateAsync(
        Stream transport, string host, ConnectionTrace trace, List<SslApplicationProtocol>? protocols, CancellationToken cancellationToken)
    {
        var options = Options(host, trace, protocols);
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var started = _time.GetTimestamp();
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken);
        }
        catch (AuthenticationException e) when (trace.Rejection is { } why)
        {
            await ssl.DisposeAsync();
            throw new AuthenticationException(why, e);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }

        trace.Handshake = _time.GetElapsedTime(started);
        trace.Protocol = ssl.SslProtocol;
        return ssl;
    }

    private bool Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, TlsMaterial material, string targetHost, ConnectionTrace trace)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            trace.Rejection = "the server sent no certificate";
            return Settings.InsecureSkipVerify;
        }

        trace.EarliestNotAfter = EarliestNotAfter(leaf, chain);
        if (Settings.InsecureSkipVerify)
        {
            return true;
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            trace.Rejection = $"the server's certificate is not valid for the name {targetHost}"
                + (Settings.ServerName is null ? " (tls.serverName sets the name checked)" : " (tls.serverName)");
            return false;
        }

        if (material.Authorities is not { } authorities)
        {
            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                trace.Rejection = $"the server's certificate is not trusted ({Status(chain)}); a private CA goes in tls.caFile";
                return false;
            }

            return errors == SslPolicyErrors.None;
        }

        // The CA file replaces the system store: the chain is built again against it alone, with the intermediates the
        // server sent.
        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.CustomTrustStore.AddRange(authorities);
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        own.ChainPolicy.VerificationTime = _time.GetUtcNow().LocalDateTime;
        if (chain is not null)
        {
            own.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }

        if (!own.Build(leaf))
        {
            trace.Rejection = $"the server's certificate is not trusted by tls.caFile ({Status(own)})";
            return false;
        }

        return true;
    }

    /// <summary>
    /// The earliest NotAfter of the certificates the server sent: its own and the intermediates it added (which the
    /// handshake puts in the chain's extra store), as blackbox_exporter's probe_ssl_earliest_cert_expiry. Trust anchors
    /// from the local store are not counted: the server did not send them.
    /// </summary>
    public static DateTimeOffset EarliestNotAfter(X509Certificate2 leaf, X509Chain? chain)
    {
        var earliest = leaf.NotAfter.ToUniversalTime();
        foreach (var sent in chain?.ChainPolicy.ExtraStore ?? [])
        {
            var notAfter = sent.NotAfter.ToUniversalTime();
            earliest = notAfter < earliest ? notAfter : earliest;
        }

        return new DateTimeOffset(DateTime.SpecifyKind(earliest, DateTimeKind.Utc));
    }

    private static string Status(X509Chain? chain)
    {
        var statuses = chain?.ChainStatus.Select(s => s.Status.ToString()).Distinct().ToList() ?? [];
        return statuses.Count == 0 ? "chain error" : string.Join(", ", statuses);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Source {Source}: tls.insecureSkipVerify is true: the server's certificate is not checked, so anyone on the path can pose as the server")]
    private static partial void LogInsecure(ILogger log, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Source {Source}: a TLS file changed; the certificates were read again")]
    private static partial void LogReloaded(ILogger log, string source);
}

/// <summary>A TLS file of a source's <c>tls</c> block can no longer serve; the message says which and why, never its content.</summary>
public sealed class TlsFilesException(string message) : Exception(message);
