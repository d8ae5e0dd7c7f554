using System.Net.Sockets;
using System.Security.Authentication;
using Roadmap.Sources.Network;

namespace Roadmap.Sources;

/// <summary>Turns network exceptions into the short reasons operators read in logs, /metrics and <c>check</c>.</summary>
public static class NetworkErrors
{
    public static string Describe(HttpRequestException e)
    {
        if (FindInner<NetworkDeniedException>(e) is { } denied)
        {
            return denied.Message;
        }

        if (FindInner<TlsFilesException>(e) is { } files)
        {
            return files.Message;
        }

        var socket = FindInner<SocketException>(e);
        return socket?.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"DNS lookup failed: {socket.Message}",
            SocketError.ConnectionReset => "connection reset by peer",
            SocketError.TimedOut => "connect timed out",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => $"unreachable: {socket.Message}",
            _ when FindInner<AuthenticationException>(e) is { } tls => $"TLS handshake failed: {tls.Message}",
            _ when e.HttpRequestError == HttpRequestError.ResponseEnded => "the server closed the connection without a response",
            _ when e.HttpRequestError == HttpRequestError.InvalidResponse => "invalid HTTP response",
            _ => $"request failed: {e.Message}",
        };
    }

    /// <summary>A socket failure of a kind that opens its own sockets (tcp, dns), in the words the HTTP kinds use.</summary>
    public static string Describe(SocketException s) => s.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"DNS lookup failed: {s.Message}",
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.TimedOut => "connect timed out",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => $"unreachable: {s.Message}",
        _ => $"connection failed: {s.Message}",
    };

    public static T? FindInner<T>(Exception e)
        where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is T t)
            {
                return t;
            }
        }

        return null;
    }
}
