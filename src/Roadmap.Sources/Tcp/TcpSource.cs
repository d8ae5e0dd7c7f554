using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.RegularExpressions;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tcp;

/// <summary>One tcp probe target. See <see cref="TcpSourceKind"/>.</summary>
public sealed class TcpSource : ISource
{
    /// <summary>The most of a server's line quoted in a failure reason, in characters.</summary>
    private const int QuotedChars = 80;

    private readonly SourceContext _context;
    private readonly TcpOptions _options;
    private readonly byte[]? _send;
    private readonly Regex? _expect;
    private readonly TlsClient? _tls;

    public TcpSource(SourceConfig config, SourceContext context)
    {
        Config = config;
        _context = context;
        _options = (TcpOptions)config.Options;
        _send = _options.Send is { } send ? Encoding.UTF8.GetBytes(send) : null;
        _expect = _options.Expect is { } expect ? ProbePattern.Create(expect, whole: false) : null;
        _tls = _options.Tls is { } tls ? new TlsClient(tls, config.Id, context.Logs.CreateLogger(typeof(TlsClient).FullName!), context.Time) : null;
    }

    public SourceConfig Config { get; }

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var time = _context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(Config.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;
        var trace = new ConnectionTrace();
        try
        {
            // Resolved and checked through the network policy; only the addresses it allows are connected to, and the
            // handshake (with tls) runs on that connection, so send and expect go over TLS.
            await using var stream = await TracedConnect.ConnectAsync(
                _context.Network, time, new DnsEndPoint(_options.Host, _options.Port), _tls, trace, protocols: null, token);
            if (_send is not null)
            {
                await stream.WriteAsync(_send, token);
                await stream.FlushAsync(token);
            }

            if (_expect is not null && await FindExpectedAsync(stream, _expect, token) is { } missed)
            {
                return PollResult.Failed(missed, time.GetElapsedTime(started), Samples(up: false, trace));
            }

            return PollResult.Ok(Samples(up: true, trace), time.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            var what = trace.Connect is null ? "connecting"
                : _tls is not null && trace.Protocol is null ? "in the TLS handshake"
                : _expect is null ? "sending"
                : "waiting for a line to match expect";
            return PollResult.Failed($"timeout after {Durations.Format(Config.Timeout)} {what}", time.GetElapsedTime(started), Samples(false, trace));
        }
        catch (Exception e) when (e is NetworkDeniedException or TlsFilesException)
        {
            return PollResult.Failed(e.Message, time.GetElapsedTime(started), Samples(false, trace));
        }
        catch (AuthenticationException e)
        {
            // The words the http kind uses; the message says why the certificate was refused when it was.
            return PollResult.Failed($"TLS handshake failed: {e.Message}", time.GetElapsedTime(started), Samples(false, trace));
        }
        catch (SocketException e)
        {
            return PollResult.Failed(NetworkErrors.Describe(e), time.GetElapsedTime(started), Samples(false, trace));
        }
        catch (IOException e)
        {
            var reason = NetworkErrors.FindInner<SocketException>(e) is { } s ? NetworkErrors.Describe(s) : e.Message;
            var during = trace.Connect is not null && _tls is not null && trace.Protocol is null ? "TLS handshake failed" : "connection error";
            return PollResult.Failed($"{during}: {reason}", time.GetElapsedTime(started), Samples(false, trace));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Reads lines until one matches <paramref name="expect"/>: null when one did, else why none did (the server
    /// closed the connection, or sent <see cref="TcpOptions.MaxReadBytes"/> without a match). A line ends at LF, a CR
    /// before it is dropped, and it is decoded as UTF-8. Each line is matched once, so the work is linear in what was
    /// read.
    /// </summary>
    internal static async Task<string?> FindExpectedAsync(Stream stream, Regex expect, CancellationToken cancellationToken)
    {
        var buffer = new byte[TcpOptions.MaxLineBytes];
        var line = new byte[TcpOptions.MaxLineBytes];
        var lineLength = 0;
        var total = 0;
        string? last = null;
        while (total < TcpOptions.MaxReadBytes)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, TcpOptions.MaxReadBytes - total)), cancellationToken);
            if (n == 0)
            {
                // The last line needs no LF: a server may close right after it.
                if (lineLength > 0 && Matches(expect, line, lineLength, ref last))
                {
                    return null;
                }

                return total == 0
                    ? "the server closed the connection without sending anything, expected a line matching expect"
                    : $"the server closed the connection after {total} bytes, no line matched expect (last line: \"{last}\")";
            }

            total += n;
            foreach (var b in buffer.AsSpan(0, n))
            {
                if (b == (byte)'\n')
                {
                    if (Matches(expect, line, lineLength, ref last))
                    {
                        return null;
                    }

                    lineLength = 0;
                    continue;
                }

                line[lineLength++] = b;
                if (lineLength == line.Length)
                {
                    if (Matches(expect, line, lineLength, ref last))
                    {
                        return null;
                    }

                    lineLength = 0;
                }
            }
        }

        if (lineLength > 0 && Matches(expect, line, lineLength, ref last))
        {
            return null;
        }

        return $"read {TcpOptions.MaxReadBytes} bytes (the most read) and no line matched expect (last line: \"{last}\")";
    }

    private static bool Matches(Regex expect, byte[] line, int length, ref string? last)
    {
        var end = length > 0 && line[length - 1] == (byte)'\r' ? length - 1 : length;
        var text = Encoding.UTF8.GetString(line, 0, end);
        last = ServerText.Shorten(Printable(text), QuotedChars);
        return expect.IsMatch(text);
    }

    private static string Printable(string text) => string.Create(text.Length, text, static (span, t) =>
    {
        for (var i = 0; i < t.Length; i++)
        {
            span[i] = char.IsControl(t[i]) ? '?' : t[i];
        }
    });

    /// <summary>
    /// up, and the phases that completed: connect_seconds once connected; with TLS, tls_seconds, tls_version and
    /// cert_expiry_seconds once the handshake is done (a refused certificate gives none, as blackbox_exporter).
    /// </summary>
    private List<Sample> Samples(bool up, ConnectionTrace trace)
    {
        var samples = new List<Sample>(5) { new(TcpSourceKind.Up, up ? 1 : 0) };
        if (trace.Connect is { } connect)
        {
            samples.Add(new(TcpSourceKind.ConnectSeconds, connect.TotalSeconds));
        }

        if (trace is { Handshake: { } handshake, Protocol: { } protocol })
        {
            samples.Add(new(TcpSourceKind.TlsSeconds, handshake.TotalSeconds));
            samples.Add(new(TcpSourceKind.TlsVersion, TlsVersions.Number(protocol)));
            if (trace.EarliestNotAfter is { } notAfter)
            {
                samples.Add(new(TcpSourceKind.CertExpirySeconds, (notAfter - _context.Time.GetUtcNow()).TotalSeconds));
            }
        }

        return samples;
    }
}
