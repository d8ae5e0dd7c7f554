using System.Net;
using System.Net.Sockets;

namespace Roadmap.Sources.Network;

/// <summary>
/// A one-connection stand-in server on 127.0.0.1 for a kind's warm-up: the first probe pays the JIT against it instead
/// of against a real target with a short timeout.
/// </summary>
internal static class LoopbackStandIn
{
    /// <summary>
    /// Listens on a free loopback port, answers the one connection with <paramref name="answer"/>, and runs
    /// <paramref name="probe"/> against the port. The probe gets <paramref name="context"/> with no network restriction:
    /// the stand-in is on loopback, which a deny list may cover (the poll would be denied and the accept never end).
    /// </summary>
    public static async Task ServeOnceAsync(
        SourceContext context,
        Func<NetworkStream, CancellationToken, Task> answer,
        Func<int, SourceContext, ValueTask<PollResult>> probe,
        CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serve = Task.Run(
            async () =>
            {
                using var client = await listener.AcceptTcpClientAsync(cancellationToken);
                await using var stream = client.GetStream();
                await answer(stream, cancellationToken);
            },
            cancellationToken);
        await probe(port, context with { Network = NetworkPolicy.Unrestricted });
        await serve;
    }
}
