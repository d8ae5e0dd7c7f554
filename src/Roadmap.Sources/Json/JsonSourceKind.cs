using System.Text.RegularExpressions;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Json;

/// <summary>
/// kind: json — reads numbers out of a JSON document through <see cref="Api.ApiClient"/>. Signals: one per entry of
/// <c>signals</c> (name: JSONPath). Numbers, numbers in strings ("12.5") and booleans (1/0) are read; a missing path
/// or any other value is a failure naming the path.
/// </summary>
public sealed partial class JsonSourceKind : ISourceKind
{
    private static readonly string[] Methods = ["GET", "POST"];

    public string Kind => "json";

    /// <summary>The keys of a json source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("url", KeyType.Url, "absolute `http://` or `https://` URL") { Required = true, Sample = "http://127.0.0.1:8080/stats" },
        new("method", KeyType.Enum, "sent without a body") { Default = "`GET`", Allowed = Methods, Sample = "POST" },
        new("headers", KeyType.Map, "mapping of header names to values") { Default = "—", Sample = "{ X-Team: shop }" },
        new("signals", KeyType.Map, "mapping of signal names (lowercase letters, digits and `_`) to JSONPaths, e.g. `bounce_rate: $.sessions.bounceRate`")
        {
            Required = true, Sample = "{ bounce_rate: $.sessions.bounceRate }",
        },
        TlsSettings.Key("how the server is checked over `https://`, and the client certificate: see **TLS settings**"),
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    public object Bind(ConfigSection section)
    {
        var url = section.Url("url");
        var method = section.OneOf("method") ?? "GET";
        var headers = section.StringMap("headers");
        var signals = new List<JsonSignal>();
        if (section.Section("signals") is { } map)
        {
            foreach (var name in map.Keys.ToList())
            {
                var text = map.Text(name);
                if (!SignalName().IsMatch(name))
                {
                    map.Error(name, $"bad signal name \"{name}\": use lowercase letters, digits and '_' (at most 63 characters), e.g. bounce_rate");
                }
                else if (map.Raw(name) is "")
                {
                    map.Error(name, "missing the JSONPath of the signal's value, e.g. $.sessions.bounceRate");
                }
                else if (text is not null)
                {
                    if (JsonPath.TryParse(text, out var path, out var problem))
                    {
                        signals.Add(new JsonSignal(name, path));
                    }
                    else
                    {
                        map.Error(name, $"bad JSONPath \"{map.Raw(name)}\": {problem}");
                    }
                }
            }

            if (!map.Keys.Any())
            {
                section.Error("signals", "name at least one signal, e.g. signals: { bounce_rate: $.sessions.bounceRate }");
            }
        }

        var tls = TlsSettings.Bind(section);
        return new JsonSourceOptions(url ?? new Uri("http://invalid"), method, headers, signals) { Tls = tls };
    }

    public IReadOnlyList<string> Signals(object options) => [.. ((JsonSourceOptions)options).Signals.Select(s => s.Name)];

    public ISource Create(SourceConfig config, SourceContext context) => new JsonSource(config, context);

    [GeneratedRegex("^[a-z0-9][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SignalName();
}
