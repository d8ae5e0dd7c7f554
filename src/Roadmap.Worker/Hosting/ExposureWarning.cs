using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Says at start, in one log line, when the service listens beyond loopback with no <c>settings.auth</c>: the metrics,
/// the API and the board are then open to anyone who can reach the address.
/// </summary>
public static partial class ExposureWarning
{
    /// <summary>The listen addresses (as Kestrel reports them) that other machines can reach: all but loopback and unix sockets.</summary>
    public static IReadOnlyList<string> BeyondLoopback(IEnumerable<string> addresses) =>
        addresses.Where(a => !IsLocal(a)).ToList();

    /// <summary>Logs the warning when auth is off and some address is beyond loopback; does nothing otherwise.</summary>
    public static void Check(ILogger logger, IEnumerable<string> addresses, bool authConfigured)
    {
        if (authConfigured)
        {
            return;
        }

        var exposed = BeyondLoopback(addresses);
        if (exposed.Count > 0)
        {
            Log(logger, string.Join(", ", exposed));
        }
    }

    private static bool IsLocal(string address)
    {
        BindingAddress binding;
        try
        {
            binding = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return false;
        }

        if (binding.IsUnixPipe || binding.IsNamedPipe)
        {
            return true;
        }

        var host = binding.Host.Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening on {Addresses} beyond loopback with no settings.auth: /metrics, /api and the board are open to anyone who can reach it. Set settings.auth or listen on 127.0.0.1")]
    private static partial void Log(ILogger logger, string addresses);
}
