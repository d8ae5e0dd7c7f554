using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Roadmap.Sources.Tests.DnsProbe;

/// <summary>
/// A DNS server on 127.0.0.1, UDP and TCP on one port: each query is handed to a function that returns the messages to
/// send back (none: stay silent). Records every query it received, and on which transport.
/// </summary>
internal sealed class DnsTestServer : IAsyncDisposable
{
    private readonly Func<byte[], bool, byte[][]> _answer;
    private readonly UdpClient _udp;
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;

    /// <param name="answer">The query and whether it came over TCP → the messages to send (over TCP each behind its
    /// length).</param>
    public DnsTestServer(Func<byte[], bool, byte[][]> answer)
    {
        _answer = answer;

        // TCP first on any free port, then UDP on the same number (free for UDP unless something else holds it).
        for (var attempt = 0; ; attempt++)
        {
            _tcp = new TcpListener(IPAddress.Loopback, 0);
            _tcp.Start();
            try
            {
                _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)_tcp.LocalEndpoint).Port));
                break;
            }
            catch (SocketException) when (attempt < 10)
            {
                _tcp.Stop();
            }
        }

        _udpLoop = ServeUdpAsync();
        _tcpLoop = ServeTcpAsync();
    }

    public int Port => ((IPEndPoint)_tcp.LocalEndpoint).Port;

    /// <summary>Every query received, with true for TCP.</summary>
    public ConcurrentQueue<(byte[] Query, bool Tcp)> Queries { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_udpLoop, _tcpLoop);
        _stop.Dispose();
    }

    private async Task ServeUdpAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await _udp.ReceiveAsync(_stop.Token);
                Queries.Enqueue((received.Buffer, false));
                foreach (var message in _answer(received.Buffer, false))
                {
                    await _udp.SendAsync(message, received.RemoteEndPoint, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task ServeTcpAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _tcp.AcceptTcpClientAsync(_stop.Token);
                var stream = client.GetStream();
                var prefix = new byte[2];
                await stream.ReadExactlyAsync(prefix, _stop.Token);
                var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                await stream.ReadExactlyAsync(query, _stop.Token);
                Queries.Enqueue((query, true));
                foreach (var message in _answer(query, true))
                {
                    await stream.WriteAsync((byte[])[.. DnsWire.U16((ushort)message.Length), .. message], _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            // Stopped.
        }
    }
}
