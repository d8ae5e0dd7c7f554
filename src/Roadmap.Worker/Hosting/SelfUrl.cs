namespace Roadmap.Worker.Hosting;

/// <summary>
/// <c>${ROADMAP_SELF_URL}</c> in the config: the base URL at which this service reaches itself, so the shipped
/// config's self-probe follows <c>--urls</c> instead of naming a port. Taken from the listen address: the first
/// <c>http://</c> URL (else the first <c>https://</c> one) of <c>--urls</c>, else <c>ASPNETCORE_URLS</c>, else
/// <see cref="RunOptions.DefaultUrls"/>; an address that listens on every interface (<c>0.0.0.0</c>, <c>*</c>,
/// <c>+</c>, a host name) is reached at 127.0.0.1, <c>[::]</c> at <c>[::1]</c>. An environment variable of that name
/// wins (behind Kestrel:Endpoints, which the command line does not read, or to probe through a proxy).
/// </summary>
public static class SelfUrl
{
    /// <summary>The variable's name.</summary>
    public const string Variable = "ROADMAP_SELF_URL";

    /// <summary>The base URL (scheme, host, port; no trailing slash) that reaches a service listening on <paramref name="urls"/>.</summary>
    /// <param name="urls">Listen URLs separated by <c>;</c>, as <c>--urls</c> takes them.</param>
    public static string FromListenUrls(string urls)
    {
        var all = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var chosen = all.FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? all.FirstOrDefault(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            ?? RunOptions.DefaultUrls;
        var scheme = chosen[..chosen.IndexOf("://", StringComparison.Ordinal)].ToLowerInvariant();
        var rest = chosen[(scheme.Length + 3)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        string host;
        string? port;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? authority[..(close + 1)] : authority;
            port = close > 0 && close + 1 < authority.Length && authority[close + 1] == ':' ? authority[(close + 2)..] : null;
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
            port = colon >= 0 ? authority[(colon + 1)..] : null;
        }

        host = host.ToLowerInvariant() switch
        {
            "[::]" or "[::0]" or "[0:0:0:0:0:0:0:0]" => "[::1]",
            var h when h.StartsWith('[') => h,
            var h when System.Net.IPAddress.TryParse(h, out var ip) && !ip.Equals(System.Net.IPAddress.Any) => h,
            // 0.0.0.0, *, + and any name: Kestrel listens on every interface (a name other than localhost binds all).
            _ => "127.0.0.1",
        };
        return port is { Length: > 0 } ? $"{scheme}://{host}:{port}" : $"{scheme}://{host}";
    }

    /// <summary>The listen URLs: <paramref name="urls"/> (<c>--urls</c>), else <c>ASPNETCORE_URLS</c>, else <see cref="RunOptions.DefaultUrls"/>.</summary>
    public static string ListenUrls(string? urls) =>
        urls ?? (Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } env ? env : RunOptions.DefaultUrls);

    /// <summary>
    /// The lookup of <c>${VAR}</c> for a service listening on <paramref name="urls"/>: the process environment, and
    /// <see cref="Variable"/> from <see cref="FromListenUrls"/> when the environment does not set it.
    /// </summary>
    public static Func<string, string?> Variables(string urls)
    {
        var self = FromListenUrls(urls);
        return name => Environment.GetEnvironmentVariable(name) ?? (name == Variable ? self : null);
    }
}

/// <summary>How the running service looks up <c>${VAR}</c> in its config: at start and on every reload alike.</summary>
public sealed record ConfigVariables(Func<string, string?> Lookup);
