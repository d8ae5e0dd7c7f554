using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Roadmap.Core.Config;

namespace Roadmap.Worker.Endpoints;

/// <summary>
/// Checks the credentials of <c>settings.auth</c> on every request but the probes: a bearer token and/or bcrypt-hashed
/// basic-auth users, as Prometheus exporter-toolkit's web config does. Either kind is accepted when configured.
/// </summary>
public sealed class RoadmapAuth : IDisposable
{
    /// <summary>The realm named in <c>WWW-Authenticate</c>.</summary>
    public const string Realm = "Roadmap";

    /// <summary>How many successful basic-auth verifications are remembered; when full the cache starts afresh.</summary>
    public const int CacheCapacity = 256;

    // A user name not in the config is checked against this hash, so that an unknown name costs as much time as a
    // known one and timing does not tell which names exist (exporter-toolkit does the same).
    private readonly string _decoyHash;
    private readonly byte[]? _tokenDigest;
    private readonly IReadOnlyDictionary<string, string> _users;

    // bcrypt costs ~50-100 ms of CPU at cost 10; a scraper every 15 s would pay it on each scrape. Successful
    // verifications are remembered under a SHA-256 of user, password and hash, never the password itself.
    private readonly ConcurrentDictionary<string, byte> _verified = new(StringComparer.Ordinal);

    // One bcrypt at a time: a flood of wrong passwords then costs one core, not every core.
    private readonly SemaphoreSlim _bcrypt = new(1, 1);

    public RoadmapAuth(AuthConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _users = config.BasicAuthUsers;
        _tokenDigest = config.BearerToken is { } token ? SHA256.HashData(Encoding.UTF8.GetBytes(token)) : null;
        var cost = _users.Values.Select(h => int.Parse(h.AsSpan(4, 2), provider: System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(10).Max();
        _decoyHash = _users.Count == 0 ? "" : BCrypt.Net.BCrypt.HashPassword(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), cost);
    }

    /// <summary>The <c>WWW-Authenticate</c> value of a 401: Basic when basic-auth users exist (browsers then ask), else Bearer.</summary>
    public string Challenge => _users.Count > 0 ? $"Basic realm=\"{Realm}\", charset=\"UTF-8\"" : $"Bearer realm=\"{Realm}\"";

    /// <summary>Successful basic-auth verifications remembered now (for tests).</summary>
    internal int CachedCount => _verified.Count;

    /// <summary>Probes stay open: a kubelet, load balancer or systemd watchdog has no credentials, and they tell nothing.</summary>
    public static bool IsOpen(PathString path) =>
        path.Equals("/healthz", StringComparison.Ordinal) || path.Equals("/readyz", StringComparison.Ordinal);

    public void Dispose() => _bcrypt.Dispose();

    /// <summary>Whether the <c>Authorization</c> header value carries a credential that is configured and right.</summary>
    public async ValueTask<bool> IsAuthorizedAsync(string? authorization, CancellationToken ct)
    {
        // "SCHEME CREDENTIALS" split by hand: a token may hold characters (',', '=') a header-list parser would split on.
        var space = authorization?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space <= 0)
        {
            return false;
        }

        var scheme = authorization![..space];
        var parameter = authorization[(space + 1)..].Trim(' ');
        if (parameter.Length == 0)
        {
            return false;
        }

        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return _tokenDigest is not null && TokenMatches(parameter);
        }

        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && _users.Count > 0 && TryDecodeBasic(parameter, out var user, out var password))
        {
            return await VerifyAsync(user, password, ct);
        }

        return false;
    }

    private bool TokenMatches(string presented)
    {
        // Digests have equal length, so the comparison takes the same time whatever the presented token's length.
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(digest, _tokenDigest);
    }

    private async ValueTask<bool> VerifyAsync(string user, string password, CancellationToken ct)
    {
        var known = _users.TryGetValue(user, out var hash);
        hash = known ? hash! : _decoyHash;
        var key = CacheKey(user, password, hash);
        if (known && _verified.ContainsKey(key))
        {
            return true;
        }

        bool ok;
        await _bcrypt.WaitAsync(ct);
        try
        {
            ok = BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            // The loader admits only well-formed hashes; a hash BCrypt.Net still rejects is no match, not a crash.
            ok = false;
        }
        finally
        {
            _bcrypt.Release();
        }

        if (ok && known)
        {
            if (_verified.Count >= CacheCapacity)
            {
                // Bounded: many distinct right passwords cannot happen with a handful of users; start afresh if they do.
                _verified.Clear();
            }

            _verified.TryAdd(key, 0);
        }

        return ok && known;
    }

    private static string CacheKey(string user, string password, string hash)
    {
        // Lengths first, so that ("ab", "c") and ("a", "bc") never share a key.
        var text = $"{user.Length}:{user}{password.Length}:{password}{hash}";
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static bool TryDecodeBasic(string parameter, out string user, out string password)
    {
        user = password = "";
        byte[] buffer;
        try
        {
            buffer = Convert.FromBase64String(parameter);
        }
        catch (FormatException)
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(buffer);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        user = text[..colon];
        password = text[(colon + 1)..];
        return true;
    }
}

public static class RoadmapAuthExtensions
{
    /// <summary>
    /// Requires the credentials of <c>settings.auth</c> on every path but /healthz and /readyz; nothing when auth is not
    /// configured. A request without them gets 401 with <c>WWW-Authenticate</c> and an empty body.
    /// </summary>
    public static IApplicationBuilder UseRoadmapAuth(this IApplicationBuilder app, AuthConfig? config)
    {
        if (config is null)
        {
            return app;
        }

        var auth = new RoadmapAuth(config);
        app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(auth.Dispose);
        return app.Use(async (context, next) =>
        {
            if (RoadmapAuth.IsOpen(context.Request.Path)
                || await auth.IsAuthorizedAsync(context.Request.Headers.Authorization, context.RequestAborted))
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = auth.Challenge;
            context.Response.Headers.CacheControl = "no-store";
            context.Response.ContentLength = 0;
        });
    }
}
