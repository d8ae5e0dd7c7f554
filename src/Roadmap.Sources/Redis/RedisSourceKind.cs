using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Redis;

/// <summary>
/// kind: redis — the cache hit ratio of one Redis server, from the keyspace_hits and keyspace_misses counters of
/// <c>INFO stats</c>. Signals: hits and misses (the increase since the previous successful poll) and hit_ratio
/// (hits / (hits + misses) of that interval). Keys: address (host:port, required), user, password (or passwordFile),
/// tls (default false).
/// An ACL user needs only <c>+info +ping</c>.
/// </summary>
public sealed class RedisSourceKind : ISourceKind
{
    public const string Hits = "hits";
    public const string Misses = "misses";
    public const string HitRatio = "hit_ratio";

    private static readonly IReadOnlyList<string> SignalNames = [Hits, Misses, HitRatio];

    public string Kind => "redis";

    /// <summary>The keys of a redis source, beside the common ones.</summary>
    public static readonly IReadOnlyList<KeySpec> KeyList =
    [
        new("address", KeyType.Text, "`host:port`, e.g. `127.0.0.1:6379`; IPv6 in brackets: `[::1]:6379`") { Required = true, Sample = "127.0.0.1:6379" },
        new("user", KeyType.Text, "a Redis 6+ ACL user; needs `password` or `passwordFile`") { Default = "— (the default user)", Sample = "roadmap" },
        new("password", KeyType.Text, "sent with AUTH") { Default = "— (no AUTH)", Secret = true, Sample = "s3cret-pass" },
        new("tls", KeyType.BooleanOrMapping, "`true`: connect with TLS, checking the server's certificate against the host in `address`; or a **TLS settings** block (TLS on)")
        {
            Default = "`false`", Keys = TlsSettings.Keys, Sample = "true",
        },
    ];

    public IReadOnlyList<KeySpec> Keys => KeyList;

    /// <summary>Hits and misses are increases since the previous successful poll: the first poll is a baseline.</summary>
    public bool NeedsPreviousReading => true;

    public object Bind(ConfigSection section)
    {
        var address = section.Text("address");
        var user = NullIfEmpty(section.Text("user"));

        // Secret: password, or passwordFile (a Docker/Kubernetes secret file), read and checked the same way for every
        // kind: one line, no control characters (ConfigSection.Secret).
        var password = NullIfEmpty(section.Secret("password"));

        // tls: true, or a tls block (which turns TLS on): a mapping has no scalar text.
        TlsSettings? tlsSettings = null;
        bool tls;
        if (section.Has("tls") && section.Raw("tls") is null)
        {
            tlsSettings = TlsSettings.Bind(section);
            tls = tlsSettings is not null;
        }
        else
        {
            tls = section.Bool("tls") ?? false;
        }

        var host = "";
        var port = 0;
        if (address is not null && !RedisOptions.TryParseAddress(address, out host, out port, out var problem))
        {
            section.Error("address", $"bad address \"{section.Raw("address")}\": {problem}");
        }

        // Without a password no AUTH is sent, and the source would quietly poll as the default user.
        if (user is not null && password is null && !section.Has("password") && !section.Has("passwordFile"))
        {
            section.Error("user", "a user needs a password: set password or passwordFile too");
        }

        return new RedisOptions(host, port, user, password, tls) { TlsSettings = tlsSettings };
    }

    public IReadOnlyList<string> Signals(object options) => SignalNames;

    public ISource Create(SourceConfig config, SourceContext context) => new RedisSource(config, context);

    /// <summary>One poll against a throwaway loopback stand-in for Redis, so the first real poll does not pay the JIT.</summary>
    public ValueTask WarmUpAsync(SourceContext context, CancellationToken cancellationToken) =>
        RedisWarmUp.RunAsync(context, SignalNames, cancellationToken);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
