using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Json;

/// <summary>The keys of a json source.</summary>
/// <param name="Url">The JSON document to read.</param>
/// <param name="Method">GET (the default) or POST.</param>
/// <param name="Headers">Sent with every request, e.g. Authorization: Bearer ${TOKEN}.</param>
/// <param name="Signals">One per configured name, in the order written.</param>
public sealed record JsonSourceOptions(Uri Url, string Method, IReadOnlyDictionary<string, string> Headers, IReadOnlyList<JsonSignal> Signals) : ITlsOptions
{
    /// <summary>The <c>tls</c> block: how an https server is checked and who we say we are; null: the system's defaults.</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>Value equality, headers and signals included (a reload keeps an unchanged source).</summary>
    public bool Equals(JsonSourceOptions? other) =>
        other is not null && Url == other.Url && Method == other.Method && ConfigEquality.Same(Headers, other.Headers)
        && ConfigEquality.Same(Signals, other.Signals) && Equals(Tls, other.Tls);

    public override int GetHashCode() => HashCode.Combine(Url, Method, ConfigEquality.Hash(Headers), ConfigEquality.Hash(Signals), Tls);
}

/// <summary>A signal and the JSONPath of its value.</summary>
public sealed record JsonSignal(string Name, JsonPath Path);
