using System.Net;
using System.Net.Sockets;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Network;

/// <summary>
/// Where sources may connect (<c>settings.network</c>): an address is denied when a deny network holds it and no allow
/// network does. It is checked on resolved addresses, never on names: a name can resolve anywhere, and so can the next
/// lookup of the same name (DNS rebinding), so callers connect only to the addresses <see cref="ResolveAsync"/> handed
/// back (see <see cref="GuardedConnect"/>).
/// </summary>
public sealed class NetworkPolicy
{
    private readonly IPNetwork[] _deny;
    private readonly IPNetwork[] _allow;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    /// <param name="settings">The deny and allow lists and the redirect cap.</param>
    /// <param name="resolve">Resolves a host name; default <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>.
    /// Tests give a name any address without touching /etc/hosts.</param>
    public NetworkPolicy(NetworkSettings settings, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        Settings = settings;
        _deny = [.. settings.Deny];
        _allow = [.. settings.Allow];
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
        ConnectCallback = (context, cancellationToken) => GuardedConnect.ConnectAsync(this, context.DnsEndPoint, cancellationToken);
    }

    /// <summary>The defaults: link-local and cloud metadata denied, 5 redirects.</summary>
    public static NetworkPolicy Default { get; } = new(NetworkSettings.Default);

    /// <summary>Nothing denied; for the kinds' warm-up against their own loopback stand-ins.</summary>
    public static NetworkPolicy Unrestricted { get; } = new(new NetworkSettings([], [], NetworkSettings.DefaultMaxRedirects));

    public NetworkSettings Settings { get; }

    /// <summary>The <see cref="SocketsHttpHandler.ConnectCallback"/> that connects through this policy (see <see cref="GuardedConnect"/>).</summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback { get; }

    /// <summary>Redirects followed at most per request; 0: none.</summary>
    public int MaxRedirects => Settings.MaxRedirects;

    /// <summary>
    /// Why <paramref name="address"/> is denied; null when a source may connect to it. Every address a packet to it
    /// goes to is judged (see <see cref="Destinations"/>): it is denied when any of them is in a deny network and in
    /// no allow network.
    /// </summary>
    public string? Check(IPAddress address)
    {
        if (_deny.Length == 0)
        {
            return null;
        }

        var destinations = Destinations(address);
        foreach (var destination in destinations)
        {
            if (DenyingNetwork(destination) is { } deny)
            {
                // destinations[0] is the address itself (an IPv4-mapped one as the IPv4 address it is).
                return destination.Equals(destinations[0])
                    ? $"denied: {destination} is in the network deny list ({deny})"
                    : $"denied: {destinations[0]} reaches {destination}, which is in the network deny list ({deny})";
            }
        }

        return null;
    }

    /// <summary>
    /// The addresses a connection to <paramref name="address"/> sends packets to, the address itself first, for the
    /// deny list to judge: the address as given is not always where a packet goes.
    /// <list type="bullet">
    /// <item>IPv4-mapped <c>::ffff:a.b.c.d</c> is the IPv4 address (the socket sends IPv4): only that is listed.</item>
    /// <item>This host: on Linux a connect to 0.0.0.0 (or any of 0.0.0.0/8, "this network") reaches 127.0.0.1, and
    /// one to <c>::</c> reaches <c>::1</c>; so 127.0.0.1 and ::1 are listed too.</item>
    /// <item>IPv6 forms that carry an IPv4 destination, which is listed after the IPv6 address: IPv4-compatible
    /// <c>::a.b.c.d</c> (the host's own tunnel, so 0.0.0.0/8 there is this host as well), IPv4-translated
    /// <c>::ffff:0:a.b.c.d</c> (SIIT), NAT64 <c>64:ff9b::a.b.c.d</c> (RFC 6052), NAT64 local-use <c>64:ff9b:1::/48</c>
    /// (RFC 8215: the prefix length is the operator's, so the IPv4 address at each RFC 6052 length from /48 to /96),
    /// 6to4 <c>2002:AABB:CCDD::/48</c> (the relay sends to AABB:CCDD) and Teredo <c>2001:0::/32</c> (its server and
    /// the client's obfuscated address).</item>
    /// </list>
    /// Other translation prefixes an operator picks (a network-specific NAT64 prefix, ISATAP) cannot be recognised:
    /// deny them by their prefix.
    /// </summary>
    public static IReadOnlyList<IPAddress> Destinations(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return IsThisNetwork(address) ? [address, IPAddress.Loopback] : [address];
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return [address];
        }

        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        var result = new List<IPAddress>(3) { address };
        if (b[..12].IndexOfAnyExcept((byte)0) < 0)
        {
            // ::, ::1 and the IPv4-compatible ::a.b.c.d share the first 96 zero bits.
            var last = IPv4(b[12], b[13], b[14], b[15]);
            if (last.Equals(IPAddress.Any))
            {
                result.Add(IPAddress.IPv6Loopback);
            }
            else if (!address.Equals(IPAddress.IPv6Loopback))
            {
                result.Add(last);
                if (IsThisNetwork(last))
                {
                    result.Add(IPAddress.Loopback);
                }
            }
        }
        else if (b[..8].IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
        {
            result.Add(IPv4(b[12], b[13], b[14], b[15]));
        }
        else if (b[..6].SequenceEqual(LocalUseNat64))
        {
            // RFC 6052: bits 64-71 (byte 8) are zero and skipped; the IPv4 address ends where the prefix length puts it.
            result.Add(IPv4(b[6], b[7], b[9], b[10]));
            result.Add(IPv4(b[7], b[9], b[10], b[11]));
            result.Add(IPv4(b[9], b[10], b[11], b[12]));
            result.Add(IPv4(b[12], b[13], b[14], b[15]));
        }
        else if (b[..4].SequenceEqual(WellKnownNat64) && b[4..12].IndexOfAnyExcept((byte)0) < 0)
        {
            result.Add(IPv4(b[12], b[13], b[14], b[15]));
        }
        else if (b[0] == 0x20 && b[1] == 0x02)
        {
            result.Add(IPv4(b[2], b[3], b[4], b[5]));
        }
        else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        {
            result.Add(IPv4(b[4], b[5], b[6], b[7]));
            result.Add(IPv4((byte)~b[12], (byte)~b[13], (byte)~b[14], (byte)~b[15]));
        }

        return result;
    }

    private static ReadOnlySpan<byte> WellKnownNat64 => [0x00, 0x64, 0xff, 0x9b];

    private static ReadOnlySpan<byte> LocalUseNat64 => [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01];

    private static IPAddress IPv4(byte a, byte b, byte c, byte d) => new([a, b, c, d]);

    /// <summary>0.0.0.0/8, "this network" (RFC 1122): a connect there reaches this host, on Linux at 127.0.0.1.</summary>
    private static bool IsThisNetwork(IPAddress v4)
    {
        Span<byte> b = stackalloc byte[4];
        v4.TryWriteBytes(b, out _);
        return b[0] == 0;
    }

    /// <summary>The deny network that holds <paramref name="address"/> when no allow network does; null otherwise.</summary>
    private IPNetwork? DenyingNetwork(IPAddress address)
    {
        foreach (var deny in _deny)
        {
            if (deny.Contains(address))
            {
                foreach (var allow in _allow)
                {
                    if (allow.Contains(address))
                    {
                        return null;
                    }
                }

                return deny;
            }
        }

        return null;
    }

    /// <summary>
    /// The addresses of <paramref name="host"/> a source may connect to, in the resolver's order. An IP literal is
    /// not looked up. Throws <see cref="NetworkDeniedException"/> when every address is denied, and what the resolver
    /// throws when the lookup fails (a <see cref="SocketException"/> saying why).
    /// </summary>
    /// <param name="host">A name or an IP literal (an IPv6 one with or without brackets).</param>
    public async ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (TryParseLiteral(host, out var literal))
        {
            return Check(literal) is { } reason ? throw new NetworkDeniedException(reason) : [literal];
        }

        var addresses = await _resolve(host, cancellationToken);
        return Allowed(host, addresses);
    }

    /// <summary>
    /// For clients that resolve the name again themselves (Npgsql): throws <see cref="NetworkDeniedException"/> when
    /// any address of <paramref name="host"/> is denied, since the client may pick any of them.
    /// </summary>
    public async ValueTask EnsureAllAllowedAsync(string host, CancellationToken cancellationToken)
    {
        var addresses = TryParseLiteral(host, out var literal) ? [literal] : await _resolve(host, cancellationToken);
        foreach (var address in addresses)
        {
            if (Check(address) is { } reason)
            {
                throw new NetworkDeniedException(TryParseLiteral(host, out _) ? reason : $"{reason}: {host} resolves there");
            }
        }
    }

    /// <summary>An IP literal as written in a URL or an address (<c>[::1]</c> or <c>::1</c>); false for a name.</summary>
    public static bool TryParseLiteral(string host, out IPAddress address)
    {
        var span = host.AsSpan();
        if (span is ['[', .., ']'])
        {
            span = span[1..^1];
        }

        // A name never starts with a digit and holds a colon or is all digits and dots; skip the parse for most names.
        if (span.Length == 0 || (!char.IsAsciiDigit(span[0]) && !span.Contains(':')))
        {
            address = IPAddress.None;
            return false;
        }

        if (IPAddress.TryParse(span, out var parsed))
        {
            address = parsed;
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    private IPAddress[] Allowed(string host, IPAddress[] addresses)
    {
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        string? firstReason = null;
        var allowed = 0;
        foreach (var address in addresses)
        {
            if (Check(address) is { } reason)
            {
                firstReason ??= reason;
            }
            else
            {
                allowed++;
            }
        }

        if (firstReason is null)
        {
            // The common case hands the resolver's array straight back: no copy.
            return addresses;
        }

        if (allowed == 0)
        {
            throw new NetworkDeniedException($"{firstReason}: {host} resolves there");
        }

        var result = new IPAddress[allowed];
        var n = 0;
        foreach (var address in addresses)
        {
            if (Check(address) is null)
            {
                result[n++] = address;
            }
        }

        return result;
    }
}

/// <summary>A connection refused by <see cref="NetworkPolicy"/>; its message is the poll's failure reason.</summary>
/// Not an IOException: it is no transient network trouble, so nothing retries it.
public sealed class NetworkDeniedException(string message) : Exception(message);
