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

    /// <summary>Why <paramref name="address"/> is denied; null when a source may connect to it.</summary>
    public string? Check(IPAddress address)
    {
        if (_deny.Length == 0)
        {
            return null;
        }

        // ::ffff:169.254.169.254 reaches 169.254.169.254: judge the IPv4 address it carries.
        var judged = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var deny in _deny)
        {
            if (deny.Contains(judged))
            {
                foreach (var allow in _allow)
                {
                    if (allow.Contains(judged))
                    {
                        return null;
                    }
                }

                return $"denied: {judged} is in the network deny list ({deny})";
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
