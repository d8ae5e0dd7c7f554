using Roadmap.Core.Config;

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

    public object Bind(ConfigSection section)
    {
        var url = section.Url("url", required: true);
        var query = section.Text("query", required: true);
        var headers = section.StringMap("headers");
        return new PrometheusQueryOptions(url ?? new Uri("http://invalid"), query ?? "", headers);
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new PrometheusSource(config, context);
}
