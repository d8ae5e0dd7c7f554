using System.Net;
using System.Net.Sockets;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.DnsProbe;

/// <summary>
/// kind: dns — asks a DNS server one question, like blackbox_exporter's dns prober: one query over UDP, again over TCP
/// when the answer comes back truncated, never retried. Signals: up (1/0: the response code is an expected one and,
/// when <c>expect.answer</c> is set, an answer matches it), lookup_seconds and answer_count.
/// </summary>
public sealed class DnsSourceKind : ISourceKind
{
    public const string Up = "up";
    public const string LookupSeconds = "lookup_seconds";
    public const string AnswerCount = "answer_count";

    private static readonly IReadOnlyList<string> SignalNames = [Up, LookupSeconds, AnswerCount];

    public string Kind => "dns";

    /// <summary>The keys of a dns source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("server", KeyType.Text, "the DNS server, `host` or `host:port` (port 53 when left out), e.g. `10.0.0.2`; IPv6 in brackets: `[::1]:5353`") { Required = true, Sample = "127.0.0.1:5353" },
        new("name", KeyType.Text, "the name asked for, e.g. `shop.example.com` (ASCII: an internationalized name in its `xn--` form)") { Required = true, Sample = "shop.example.com" },
        new("type", KeyType.Enum, "the record type asked for") { Default = "`A`", Allowed = [.. DnsMessage.Types.Keys], Sample = "AAAA" },
        new("expect", KeyType.Mapping, "what counts as up")
        {
            Default = "`NOERROR`",
            Keys =
            [
                new("rcode", KeyType.TextList, "response codes that count as up (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ...)") { Default = "`[NOERROR]`", Sample = "[NOERROR, NXDOMAIN]" },
                new("answer", KeyType.Text, "a regular expression (.NET, without backtracking) that must match the whole of some answer of `type`, in zone-file form: `10.0.0.5`, `10 mail\\.example\\.com\\.`") { Default = "— (not checked)", Sample = "'10\\.0\\.0\\.[0-9]+'" },
            ],
        },
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var server = section.Text("server", required: true);
        var host = "";
        var port = DnsOptions.DefaultPort;
        if (server is not null && !HostPort.TryParse(server, DnsOptions.DefaultPort, "10.0.0.2:53", out host, out port, out var problem))
        {
            section.Error("server", $"bad address \"{section.Raw("server")}\": {problem}");
        }

        var name = section.Text("name", required: true);
        if (name is not null && DnsMessage.CheckName(name) is { } bad)
        {
            section.Error("name", $"bad name \"{section.Raw("name")}\": {bad}");
        }

        var type = section.OneOf("type", [.. DnsMessage.Types.Keys]) ?? "A";
        var rcodes = new List<string>();
        string? answer = null;
        if (section.Section("expect") is { } expect)
        {
            foreach (var (text, at) in expect.StringList("rcode"))
            {
                var code = text.ToUpperInvariant();
                if (DnsMessage.Rcodes.Contains(code))
                {
                    rcodes.Add(code);
                }
                else
                {
                    expect.Error(at, "rcode", $"unknown response code \"{text}\": expected one of {string.Join(", ", DnsMessage.Rcodes)}");
                }
            }

            answer = ProbePattern.Read(expect, "answer", whole: true);
            expect.RejectUnknownKeys();
        }

        return new DnsOptions(host, port, name ?? "", type, rcodes.Count == 0 ? ["NOERROR"] : rcodes, answer);
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new DnsSource(config, context);

    /// <summary>
    /// One probe through the real probe code against a throwaway loopback responder, which sends the query back as
    /// its own empty answer (the QR flag set: NOERROR, the question repeated, no records).
    /// </summary>
    public async ValueTask WarmUpAsync(SourceContext context, CancellationToken cancellationToken)
    {
        using var responder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        responder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)responder.LocalEndPoint!).Port;
        var serve = Task.Run(
            async () =>
            {
                var buffer = new byte[512];
                var received = await responder.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
                buffer[2] |= 0x80;
                await responder.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), received.RemoteEndPoint, cancellationToken);
            },
            cancellationToken);
        var options = new DnsOptions("127.0.0.1", port, "warm-up.invalid", "A", ["NOERROR"], null);
        var config = new SourceConfig("warm-up", Kind, new PollSchedule(TimeSpan.FromMinutes(1), null), TimeSpan.FromSeconds(10), options, SignalNames);
        // The stand-in is on loopback, which a deny list may cover.
        await new DnsSource(config, context with { Network = NetworkPolicy.Unrestricted }).PollAsync(cancellationToken);
        await serve;
    }
}
