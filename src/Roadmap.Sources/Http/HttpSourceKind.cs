using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Http;

/// <summary>
/// kind: http — probes a URL like blackbox_exporter: a fresh connection per probe, never retried (a retry hides
/// downtime). Signals: up (1/0), latency_seconds, status_code, the phases (dns, connect, tls, ttfb, transfer seconds),
/// tls_version, cert_expiry_seconds, redirects and content_length_bytes.
/// </summary>
public sealed class HttpSourceKind : ISourceKind
{
    public const string Up = "up";
    public const string LatencySeconds = "latency_seconds";
    public const string StatusCode = "status_code";
    public const string DnsSeconds = "dns_seconds";
    public const string ConnectSeconds = "connect_seconds";
    public const string TlsSeconds = "tls_seconds";
    public const string TtfbSeconds = "ttfb_seconds";
    public const string TransferSeconds = "transfer_seconds";
    public const string TlsVersion = "tls_version";
    public const string CertExpirySeconds = "cert_expiry_seconds";
    public const string Redirects = "redirects";
    public const string ContentLengthBytes = "content_length_bytes";

    private static readonly IReadOnlyList<string> SignalNames =
    [
        Up, LatencySeconds, StatusCode, DnsSeconds, ConnectSeconds, TlsSeconds, TtfbSeconds, TransferSeconds, TlsVersion,
        CertExpirySeconds, Redirects, ContentLengthBytes,
    ];
    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

    public string Kind => "http";

    /// <summary>The keys of an http source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("url", KeyType.Url, "absolute `http://` or `https://` URL") { Required = true, Sample = "http://127.0.0.1:9810/healthz" },
        new("method", KeyType.Enum, "the request method") { Default = "`GET`", Allowed = Methods, Sample = "HEAD" },
        new("headers", KeyType.Map, "mapping of header names to values") { Default = "—", Sample = "{ X-Team: shop }" },
        new("expect", KeyType.Mapping, "what counts as up")
        {
            Default = "any 2xx",
            Keys =
            [
                new("status", KeyType.TextList, "list of status codes that count as up") { Default = "any 2xx", Sample = "[200, 204]" },
                new("bodyContains", KeyType.Text, "text the body (first 1 MiB) must contain to count as up") { Default = "—", Sample = "ok" },
            ],
        },
        new("keepAlive", KeyType.Boolean, "keep the connection open for the next probe instead of a fresh connection per probe (connect and TLS then measured only when a connection is opened)") { Default = "`false`", Sample = "true" },
        TlsSettings.Key("how an `https://` target and every https redirect hop are checked: see **TLS settings**"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var url = section.Url("url");
        var method = section.OneOf("method") ?? "GET";
        var headers = section.StringMap("headers");
        var statuses = new List<int>();
        string? bodyContains = null;
        if (section.Section("expect") is { } expect)
        {
            foreach (var (text, at) in expect.StringList("status"))
            {
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599)
                {
                    statuses.Add(code);
                }
                else
                {
                    expect.Error(at, "status", $"bad HTTP status \"{text}\": expected a number from 100 to 599");
                }
            }

            bodyContains = expect.Text("bodyContains");
            expect.RejectUnknownKeys();
        }

        var tls = TlsSettings.Bind(section);
        var keepAlive = section.Bool("keepAlive") ?? false;
        return new HttpProbeOptions(url ?? new Uri("http://invalid"), method, headers, statuses, bodyContains) { Tls = tls, KeepAlive = keepAlive };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new HttpSource(config, context);

    /// <summary>One probe through the real probe code against a throwaway loopback listener.</summary>
    public async ValueTask WarmUpAsync(SourceContext context, CancellationToken cancellationToken) =>
        await LoopbackStandIn.ServeOnceAsync(
            context,
            async (stream, ct) =>
            {
                var buffer = new byte[4096];
                var seen = new StringBuilder();
                while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer, ct);
                    if (n == 0)
                    {
                        return;
                    }

                    seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray(), ct);
            },
            async (port, local) =>
            {
                var options = new HttpProbeOptions(new Uri($"http://127.0.0.1:{port}/"), "GET", new Dictionary<string, string>(), [], "ok");
                var config = new SourceConfig("warm-up", Kind, new PollSchedule(TimeSpan.FromMinutes(1), null), TimeSpan.FromSeconds(10), options, SignalNames);
                // Disposed after its one probe: the source owns a handler.
                await using var source = new HttpSource(config, local);
                return await source.PollAsync(cancellationToken);
            },
            cancellationToken);
}
