using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Roadmap.EndToEnd.Tests.Cluster;

/// <summary>One request the target answered: its path and when its request line arrived (Unix ms).</summary>
internal sealed record Hit(string Path, long At);

/// <summary>
/// The polled service of the cluster audit: a raw TcpListener on 127.0.0.1 that answers every request 200 at once with
/// <c>Connection: close</c> and logs (path, arrival) of each, so the audit can count polls where they land, including
/// those a killed replica made but never stored. Thread-safe; stopped on dispose.
/// </summary>
internal sealed class HitTarget : IAsyncDisposable
{
    // A request head longer than this is not a poll of ours: it is answered and logged like any other, unread beyond.
    private const int MaxHead = 8 * 1024;

    private static readonly byte[] Answer = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<Hit> _hits = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly Task _accepting;
    private readonly TimeSpan _headTimeout;

    /// <param name="headTimeout">How long a connection may take to send its request head (default 10 s); then it is dropped unanswered.</param>
    public HitTarget(TimeProvider time, TimeSpan? headTimeout = null)
    {
        _time = time;
        _headTimeout = headTimeout ?? TimeSpan.FromSeconds(10);
        _listener.Start(backlog: 1024);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Every hit so far, in arrival order per connection (not strictly ordered across connections).</summary>
    public IReadOnlyList<Hit> Hits => [.. _hits];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(_headTimeout);
                var head = new byte[MaxHead];
                var read = 0;
                long? at = null;
                while (read < head.Length && !EndOfHead(head.AsSpan(0, read)))
                {
                    var n = await socket.ReceiveAsync(head.AsMemory(read), SocketFlags.None, timeout.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    at ??= _time.GetUtcNow().ToUnixTimeMilliseconds();
                    read += n;
                }

                if (at is null)
                {
                    return;
                }

                _hits.Enqueue(new Hit(PathOf(head.AsSpan(0, read)), at.Value));
                await socket.SendAsync(Answer, SocketFlags.None, timeout.Token);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A client that went away (a replica killed mid-poll) or the target stopping.
            }
        }
    }

    private static bool EndOfHead(ReadOnlySpan<byte> bytes) => bytes.IndexOf("\r\n\r\n"u8) >= 0;

    /// <summary>The request target of "GET /s/7 HTTP/1.1", or "" for anything else.</summary>
    private static string PathOf(ReadOnlySpan<byte> head)
    {
        var line = head[..Math.Max(0, head.IndexOf("\r\n"u8))];
        var first = line.IndexOf((byte)' ');
        if (first < 0)
        {
            return "";
        }

        var rest = line[(first + 1)..];
        var second = rest.IndexOf((byte)' ');
        return Encoding.ASCII.GetString(second < 0 ? rest : rest[..second]);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
