using System.Globalization;

namespace Roadmap.Sources.Network;

/// <summary>The <c>host:port</c> addresses of the kinds that open their own sockets (redis, tcp, dns).</summary>
public static class HostPort
{
    /// <summary>
    /// Splits <c>host:port</c> (or <c>[v6]:port</c>); on failure says what is wrong, in words for a config error.
    /// </summary>
    /// <param name="text">The address as configured.</param>
    /// <param name="defaultPort">The port of an address written without one (<c>host</c>, <c>[v6]</c>); null: the
    /// port is required.</param>
    /// <param name="example">An example address for the error message, e.g. <c>127.0.0.1:6379</c>.</param>
    /// <param name="host">The host name or IP address (IPv6 without its brackets).</param>
    /// <param name="port">1 to 65535.</param>
    /// <param name="problem">Why the address is bad; empty when it is good.</param>
    public static bool TryParse(string text, int? defaultPort, string example, out string host, out int port, out string problem)
    {
        host = "";
        port = 0;
        problem = defaultPort is null ? $"expected host:port, e.g. {example}" : $"expected host or host:port, e.g. {example}";
        if (!text.StartsWith('[') && Uri.CheckHostName(text) == UriHostNameType.IPv6)
        {
            problem = $"put an IPv6 address in brackets, e.g. [::1]:{example[(example.LastIndexOf(':') + 1)..]}";
            return false;
        }

        var colon = text.LastIndexOf(':');
        var bracketed = text.StartsWith('[');
        string hostPart;
        string? portPart;
        if (defaultPort is not null && (colon < 0 || (bracketed && text.EndsWith(']'))))
        {
            // No port: a name, an IPv4 address, or a bracketed IPv6 address.
            hostPart = text;
            portPart = null;
        }
        else if (colon <= 0)
        {
            return false;
        }
        else
        {
            hostPart = text[..colon];
            portPart = text[(colon + 1)..];
        }

        if (hostPart.StartsWith('[') && hostPart.EndsWith(']'))
        {
            hostPart = hostPart[1..^1];
            if (Uri.CheckHostName(hostPart) != UriHostNameType.IPv6)
            {
                return false;
            }
        }
        else if (hostPart.Contains(':', StringComparison.Ordinal))
        {
            if (Uri.CheckHostName(hostPart) == UriHostNameType.IPv6)
            {
                problem = $"put an IPv6 address in brackets, e.g. [::1]:{example[(example.LastIndexOf(':') + 1)..]}";
            }

            return false;
        }
        else if (Uri.CheckHostName(hostPart) is UriHostNameType.Unknown or UriHostNameType.IPv6)
        {
            return false;
        }

        if (portPart is null)
        {
            port = defaultPort!.Value;
        }
        else if (!int.TryParse(portPart, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            port = 0;
            problem = "the port must be a number from 1 to 65535";
            return false;
        }

        host = hostPart;
        problem = "";
        return true;
    }

    /// <summary>host:port, with an IPv6 address in brackets.</summary>
    public static string Format(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
}
