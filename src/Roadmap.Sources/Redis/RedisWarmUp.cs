using System.Net;
using System.Net.Sockets;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Redis;

/// <summary>
/// One poll through the real poll code against a throwaway loopback listener that speaks just enough of the Redis
/// protocol (PING, INFO; an error for the rest of the handshake). The client library's first connect in a process
/// takes most of a second of JIT; without this the first poll of a source with a short timeout would time out.
/// </summary>
internal static class RedisWarmUp
{
    private const string Stats = "# Stats\r\nkeyspace_hits:0\r\nkeyspace_misses:0\r\n";

    public static async ValueTask RunAsync(SourceContext context, IReadOnlyList<string> signals, CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var serving = ServeAsync(listener, stop.Token);
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var options = new RedisOptions("127.0.0.1", port, User: null, Password: null, Tls: false);
            var config = new SourceConfig("warm-up", "redis", new PollSchedule(TimeSpan.FromMinutes(1), null), TimeSpan.FromSeconds(10), options, signals);
            // The stand-in is on loopback, which a deny list may cover; the warm-up is this process's own business.
            await using var source = new RedisSource(config, context with { Network = NetworkPolicy.Unrestricted });
            await source.PollAsync(cancellationToken);
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
        }
    }

    private static async Task ServeAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        var clients = new List<Task>();
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(cancellationToken);
                clients.Add(AnswerAsync(client, cancellationToken));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        await Task.WhenAll(clients);
    }

    private static async Task AnswerAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                while (await reader.ReadLineAsync(cancellationToken) is { } header)
                {
                    if (!header.StartsWith('*') || !int.TryParse(header.AsSpan(1), out var count) || count < 1)
                    {
                        continue;
                    }

                    var args = new List<string>(count);
                    for (var i = 0; i < count; i++)
                    {
                        await reader.ReadLineAsync(cancellationToken); // $length
                        args.Add(await reader.ReadLineAsync(cancellationToken) ?? "");
                    }

                    var reply = args[0].ToUpperInvariant() switch
                    {
                        "PING" => "+PONG\r\n",
                        "INFO" => $"${Stats.Length}\r\n{Stats}\r\n",
                        "QUIT" => "+OK\r\n",
                        _ => "-ERR unknown command\r\n",
                    };
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(reply), cancellationToken);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client went away, or the warm-up is over.
            }
        }
    }
}
