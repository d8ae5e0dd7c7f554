using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tcp;

/// <summary>The keys of a tcp source.</summary>
/// <param name="Host">From <c>address</c>: a host name or an IP address (IPv6 without its brackets).</param>
/// <param name="Port">From <c>address</c>: 1 to 65535.</param>
/// <param name="Send">Text written once connected, as UTF-8; null: nothing is sent.</param>
/// <param name="Expect">A regular expression some line the server sends must match for the probe to be up; null: a
/// connect is enough.</param>
/// <param name="Tls">The <c>tls</c> block: when set, the probe runs a TLS handshake once connected and sends and reads
/// over it; null: plain TCP.</param>
/// <remarks>
/// Positional fields are only ever added at the end, so what is here keeps its meaning.
/// </remarks>
public sealed record TcpOptions(string Host, int Port, string? Send, string? Expect, TlsSettings? Tls = null) : ITlsOptions
{
    /// <summary>The longest <see cref="Send"/>, in UTF-8 bytes: 4 KiB.</summary>
    public const int MaxSendBytes = 4 * 1024;

    /// <summary>The most read from the server while looking for <see cref="Expect"/>, in bytes: 64 KiB.</summary>
    public const int MaxReadBytes = 64 * 1024;

    /// <summary>The longest line matched against <see cref="Expect"/>, in bytes: 4 KiB; the rest of a longer line is
    /// matched as the next line.</summary>
    public const int MaxLineBytes = 4 * 1024;

    /// <summary>host:port, with an IPv6 address in brackets.</summary>
    public string Address => HostPort.Format(Host, Port);
}
