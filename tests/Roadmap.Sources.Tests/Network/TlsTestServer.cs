using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Roadmap.Sources.Tests.Network;

/// <summary>
/// An HTTPS server on 127.0.0.1 for one test: an <see cref="SslStream"/> over a <see cref="TcpListener"/>, with the
/// certificate given, optionally demanding a client certificate signed by a given CA. It answers each request with
/// what its answer function makes of its path (a whole HTTP response) and closes the connection.
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2? _clientAuthority;
    private readonly SslProtocols _protocols;
    private readonly Func<string, string> _answer;
    private int _handshakes;

    public TlsTestServer(
        X509Certificate2 certificate, Func<string, string>? answer = null, X509Certificate2? clientAuthority = null, SslProtocols protocols = SslProtocols.None)
    {
        _certificate = certificate;
        _clientAuthority = clientAuthority;
        _protocols = protocols;
        _answer = answer ?? (_ => Ok("ok"));
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Handshakes completed (the client accepted the server, and the server the client).</summary>
    public int Handshakes => Volatile.Read(ref _handshakes);

    public static string Ok(string body) => $"HTTP/1.1 200 OK\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    public static string Redirect(string location) => $"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await using var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _certificate,
                        EnabledSslProtocols = _protocols,
                        ClientCertificateRequired = _clientAuthority is not null,
                        RemoteCertificateValidationCallback = (_, certificate, _, _) => _clientAuthority is null || IssuedBy(certificate, _clientAuthority),
                    },
                    timeout.Token);
                Interlocked.Increment(ref _handshakes);
                var request = new StringBuilder();
                var buffer = new byte[4096];
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await ssl.ReadAsync(buffer, timeout.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                var path = request.ToString().Split(' ', 3)[1];
                await ssl.WriteAsync(Encoding.UTF8.GetBytes(_answer(path)), timeout.Token);
                await ssl.FlushAsync(timeout.Token);
            }
            catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException)
            {
                // The client refused us, or we refused it: that is what some tests are about.
            }
        }
    }

    private static bool IssuedBy(X509Certificate? certificate, X509Certificate2 authority)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
