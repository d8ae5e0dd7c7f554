using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Prometheus;

/// <summary>
/// kind: prometheus — runs a PromQL instant query through <see cref="Api.ApiClient"/>. Signal: value, when the
/// query yields exactly one number (a scalar, or a vector of one series); anything else is a failure saying why.
/// </summary>
public sealed class PrometheusSourceKind : ISourceKind
{
    public const string Value = "value";

    private static readonly IReadOnlyList<string> SignalNames = [Value];

    public string Kind => "prometheus";

    /// <summary>The keys of a prometheus source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("url", KeyType.Url, "the server's base URL with its path prefix if any, e.g. `http://127.0.0.1:9090`; query parameters on it (Thanos' `dedup=true`) are kept")
        {
            Required = true, Sample = "http://127.0.0.1:9090",
        },
        new("query", KeyType.Text, "PromQL; aggregate it (`sum(...)`) to one series") { Required = true, Sample = "sum(up)" },
        new("headers", KeyType.Map, "mapping of header names to values, e.g. `Authorization: Bearer ${PROMETHEUS_TOKEN}`") { Default = "—", Sample = "{ X-Scope-OrgID: shop }" },
        TlsSettings.Key("how the server is checked over `https://`, and the client certificate: see **TLS settings**"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var url = section.Url("url");
        var query = section.Text("query");
        var headers = section.StringMap("headers");
        var tls = TlsSettings.Bind(section);
        return new PrometheusQueryOptions(url ?? new Uri("http://invalid"), query ?? "", headers) { Tls = tls };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new PrometheusSource(config, context);
}
