using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Roadmap.Sources.Network;

/// <summary>What one connection took and saw, phase by phase, as blackbox_exporter reports a probe's.</summary>
public sealed class ConnectionTrace
{
    /// <summary>The name lookup (near zero for an IP literal); null when it did not complete.</summary>
    public TimeSpan? Resolve { get; set; }

    /// <summary>The TCP connect, to the address that answered; null when none did.</summary>
    public TimeSpan? Connect { get; set; }

    /// <summary>The TLS handshake; null without TLS, or when it did not complete.</summary>
    public TimeSpan? Handshake { get; set; }

    /// <summary>The protocol the handshake agreed; null without TLS.</summary>
    public SslProtocols? Protocol { get; set; }

    /// <summary>The earliest NotAfter of the certificates the server sent (<see cref="TlsClient.EarliestNotAfter"/>); null without TLS.</summary>
    public DateTimeOffset? EarliestNotAfter { get; set; }

    /// <summary>Why the server's certificate was rejected, in an operator's words; null when it was not.</summary>
    public string? Rejection { get; set; }

    /// <summary>When the connection was ready for the request (after the handshake), as a <see cref="TimeProvider"/> timestamp.</summary>
    public long ReadyAt { get; set; }
}

/// <summary>
/// One connection, phase by phase: the name resolved through the <see cref="NetworkPolicy"/> (denied addresses
/// dropped), a TCP connect to an allowed address (<see cref="GuardedConnect"/>), and optionally the TLS handshake of a
/// <see cref="TlsClient"/>; each phase timed into a <see cref="ConnectionTrace"/>. The http and API kinds' connect
/// step (the handler gets the finished <see cref="SslStream"/> and uses it as it is), and the one a kind that speaks
/// TLS over raw TCP calls.
/// </summary>
public static class TracedConnect
{
    /// <summary>HTTP/1.1 only, which the http and API kinds speak.</summary>
    public static List<SslApplicationProtocol> Http11 => [SslApplicationProtocol.Http11];

    /// <summary>
    /// Connects to <paramref name="endPoint"/> and, when <paramref name="tls"/> is given, runs its handshake for the
    /// endpoint's host. The returned stream owns the socket. Throws <see cref="NetworkDeniedException"/> when every
    /// address is denied, a <see cref="System.Net.Sockets.SocketException"/> when none connects, an
    /// <see cref="AuthenticationException"/> when the handshake fails (with why the certificate was refused) and
    /// <see cref="TlsFilesException"/> when a TLS file can no longer serve.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(
        NetworkPolicy policy,
        TimeProvider time,
        DnsEndPoint endPoint,
        TlsClient? tls,
        ConnectionTrace trace,
        List<SslApplicationProtocol>? protocols,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var addresses = await policy.ResolveAsync(endPoint.Host, cancellationToken);
        var resolved = time.GetTimestamp();
        trace.Resolve = time.GetElapsedTime(started, resolved);
        var socket = await GuardedConnect.ConnectSocketAsync(addresses, endPoint.Port, cancellationToken);
        var connected = time.GetTimestamp();
        trace.Connect = time.GetElapsedTime(resolved, connected);
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (tls is not null)
        {
            try
            {
                stream = await tls.AuthenticateAsync(stream, endPoint.Host, trace, protocols, cancellationToken);
            }
            catch
            {
                await stream.DisposeAsync();
                throw;
            }
        }

        trace.ReadyAt = time.GetTimestamp();
        return stream;
    }

    /// <summary>
    /// The <see cref="SocketsHttpHandler.ConnectCallback"/> of an HTTP client that does its own TLS: plain for http,
    /// <paramref name="tls"/>'s handshake for https. <paramref name="traced"/> is told each connection's trace.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> HttpCallback(
        NetworkPolicy policy, TimeProvider time, TlsClient tls, Action<ConnectionTrace>? traced = null) =>
        (context, cancellationToken) =>
        {
            var trace = new ConnectionTrace();
            traced?.Invoke(trace);
            var https = context.InitialRequestMessage.RequestUri?.Scheme == Uri.UriSchemeHttps;
            return ConnectAsync(policy, time, context.DnsEndPoint, https ? tls : null, trace, Http11, cancellationToken);
        };

    /// <summary>
    /// A <see cref="SocketsHttpHandler"/> whose every connection, redirect hops' included, goes through
    /// <paramref name="policy"/> and <paramref name="tls"/> (see <see cref="HttpCallback"/>).
    /// </summary>
    public static SocketsHttpHandler Traced(this SocketsHttpHandler handler, NetworkPolicy policy, TimeProvider time, TlsClient tls, Action<ConnectionTrace>? traced = null)
    {
        handler.ConnectCallback = HttpCallback(policy, time, tls, traced);
        return handler;
    }
}
