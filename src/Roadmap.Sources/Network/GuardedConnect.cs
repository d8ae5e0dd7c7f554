using System.Net;
using System.Net.Sockets;

namespace Roadmap.Sources.Network;

/// <summary>
/// The connect step of every HTTP client the sources use: resolves the host through the <see cref="NetworkPolicy"/>
/// and connects only to an address it allows, so the address checked is the address connected to — no second lookup
/// for DNS rebinding to slip into. Redirect hops open their connections here too, so each hop is checked.
/// </summary>
public static class GuardedConnect
{
    /// <summary>
    /// <paramref name="handler"/> with its <see cref="SocketsHttpHandler.ConnectCallback"/> set to
    /// <paramref name="policy"/>'s (one delegate per policy, shared by every handler: no allocation per probe).
    /// </summary>
    public static SocketsHttpHandler Guard(this SocketsHttpHandler handler, NetworkPolicy policy)
    {
        handler.ConnectCallback = policy.ConnectCallback;
        return handler;
    }

    /// <summary>
    /// Connects to the first allowed address of <paramref name="endPoint"/> that answers, trying them in the
    /// resolver's order as the default handler does. Throws <see cref="NetworkDeniedException"/> when every address is
    /// denied, the last <see cref="SocketException"/> when none connects.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(NetworkPolicy policy, DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        var addresses = await policy.ResolveAsync(endPoint.Host, cancellationToken);
        var socket = await ConnectSocketAsync(addresses, endPoint.Port, cancellationToken);
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>A connected TCP socket to the first of <paramref name="addresses"/> that accepts; the caller owns it.</summary>
    public static async ValueTask<Socket> ConnectSocketAsync(IPAddress[] addresses, int port, CancellationToken cancellationToken)
    {
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }
}
