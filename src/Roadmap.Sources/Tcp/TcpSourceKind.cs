using System.Net;
using System.Net.Sockets;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tcp;

/// <summary>
/// kind: tcp — whether a TCP port accepts connections, and optionally answers as expected: connect to
/// <c>address</c>, write <c>send</c> if set, and when <c>expect</c> is set read lines until one matches it. A fresh
/// connection per probe, never retried, like the http kind. With a <c>tls</c> block the probe runs a TLS handshake once
/// connected and sends and reads over it. Signals: up (1/0), connect_seconds, and with TLS tls_seconds, tls_version
/// and cert_expiry_seconds.
/// </summary>
public sealed class TcpSourceKind : ISourceKind
{
    public const string Up = "up";
    public const string ConnectSeconds = "connect_seconds";
    public const string TlsSeconds = "tls_seconds";
    public const string TlsVersion = "tls_version";
    public const string CertExpirySeconds = "cert_expiry_seconds";

    private static readonly IReadOnlyList<string> SignalNames = [Up, ConnectSeconds, TlsSeconds, TlsVersion, CertExpirySeconds];

    public string Kind => "tcp";

    /// <summary>The keys of a tcp source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("address", KeyType.Text, "`host:port`, e.g. `db.example.com:5432`; IPv6 in brackets: `[::1]:22`") { Required = true, Sample = "127.0.0.1:22" },
        new("send", KeyType.Text, "text written once connected (UTF-8, at most 4 KiB); for control characters use a YAML double-quoted string and its escapes: `\"PING\\r\\n\"`") { Default = "— (nothing)", Sample = "\"PING\\r\\n\"" },
        new("expect", KeyType.Text, "a regular expression (.NET, without backtracking) some line the server sends must match, e.g. `^SSH-2\\.0-`; up only then") { Default = "— (a connect is up)", Sample = "^\\+PONG" },
        TlsSettings.Key("connect with TLS (`send` and `expect` then go over it), checked as set here: see **TLS settings**; `tls: {}` for the system's defaults"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var address = section.Text("address", required: true);
        var host = "";
        var port = 0;
        if (address is not null && !HostPort.TryParse(address, defaultPort: null, "127.0.0.1:22", out host, out port, out var problem))
        {
            section.Error("address", $"bad address \"{section.Raw("address")}\": {problem}");
        }

        var send = section.Text("send");
        if (send is not null && Encoding.UTF8.GetByteCount(send) > TcpOptions.MaxSendBytes)
        {
            section.Error("send", $"is {Encoding.UTF8.GetByteCount(send)} bytes long, more than {TcpOptions.MaxSendBytes}");
        }

        var expect = ProbePattern.Read(section, "expect", whole: false);
        var tls = TlsSettings.Bind(section);
        return new TcpOptions(host, port, string.IsNullOrEmpty(send) ? null : send, expect, tls);
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new TcpSource(config, context);

    /// <summary>One probe, with send and expect, through the real probe code against a throwaway loopback listener.</summary>
    public async ValueTask WarmUpAsync(SourceContext context, CancellationToken cancellationToken) =>
        await LoopbackStandIn.ServeOnceAsync(
            context,
            async (stream, ct) =>
            {
                await stream.ReadExactlyAsync(new byte[4], ct);
                await stream.WriteAsync("ok\r\n"u8.ToArray(), ct);
            },
            (port, local) =>
            {
                var options = new TcpOptions("127.0.0.1", port, "ping", "^ok$");
                var config = new SourceConfig("warm-up", Kind, new PollSchedule(TimeSpan.FromMinutes(1), null), TimeSpan.FromSeconds(10), options, SignalNames);
                return new TcpSource(config, local).PollAsync(cancellationToken);
            },
            cancellationToken);
}
