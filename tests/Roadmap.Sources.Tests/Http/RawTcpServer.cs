using System.Collections.Concurrent;

namespace Roadmap.Sources.Tests.Http;

/// <summary>
/// A loopback TCP server that records every accepted connection's client port and hands the stream to a handler:
/// for what WireMock cannot show (which connection a request came on) or cannot do (answer with garbage).
/// </summary>
internal sealed class RawTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<int> _clientPorts = new();
    private readonly Task _accepting;

    public RawTcpServer(Func<NetworkStream, CancellationToken, Task> handle)
    {
        _listener.Start();
        _accepting = AcceptAsync(handle);
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>The client port of every connection accepted so far, in order.</summary>
    public IReadOnlyList<int> ClientPorts => [.. _clientPorts];

    /// <summary>An HTTP/1.1 server that keeps connections open and answers every request on them with 200 "ok".</summary>
    public static RawTcpServer KeepAlive() => new(async (stream, ct) =>
    {
        while (await ReadRequestHeadAsync(stream, ct))
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), ct);
        }
    });

    /// <summary>Reads up to the end of a request head; false when the client closed the connection first.</summary>
    public static async Task<bool> ReadRequestHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var head = new StringBuilder();
        var buffer = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(buffer, ct) == 0)
            {
                return false;
            }

            head.Append((char)buffer[0]);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync(Func<NetworkStream, CancellationToken, Task> handle)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _clientPorts.Enqueue(((IPEndPoint)client.Client.RemoteEndPoint!).Port);
                _ = ServeAsync(client, handle);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped, possibly between a connection accepted and the next accept ("Not listening").
        }
    }

    private async Task ServeAsync(TcpClient client, Func<NetworkStream, CancellationToken, Task> handle)
    {
        using (client)
        {
            try
            {
                await handle(client.GetStream(), _stop.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client went away, or the server stopped.
            }
        }
    }
}
