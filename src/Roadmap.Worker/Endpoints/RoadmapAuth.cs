using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Roadmap.Core.Config;

namespace Roadmap.Worker.Endpoints;

/// <summary>What a check of a request's credentials came to.</summary>
public enum AuthOutcome
{
    /// <summary>A configured credential, and right.</summary>
    Authorized,

    /// <summary>No credential, or a wrong one: 401.</summary>
    Refused,

    /// <summary>Not checked: the client already has as many password checks running and waiting as it may (429).</summary>
    Throttled,
}

/// <summary>
/// Checks the credentials of <c>settings.auth</c> on every request but the probes: a bearer token and/or bcrypt-hashed
/// basic-auth users, as Prometheus exporter-toolkit's web config does. Either kind is accepted when configured.
/// </summary>
public sealed class RoadmapAuth : IDisposable
{
    /// <summary>The realm named in <c>WWW-Authenticate</c>.</summary>
    public const string Realm = "Roadmap";

    /// <summary>
    /// How long a request turned away unchecked (<see cref="AuthOutcome.Throttled"/>) waits for its 429: 1 s. Answered at
    /// once, one client's 150 connections sent thousands of requests a second, and handling those alone took the CPU a
    /// legitimate login needed; held for a second (a timer, no thread), they send at most 150 a second.
    /// </summary>
    public static readonly TimeSpan ThrottledDelay = TimeSpan.FromSeconds(1);

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

    // bcrypt work is bounded per client and overall: a flood of wrong passwords from one client costs one core and
    // leaves a verification slot free for the others (see BcryptLimiter).
    private readonly BcryptLimiter _bcrypt = new();

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
    public async ValueTask<bool> IsAuthorizedAsync(string? authorization, CancellationToken ct) =>
        await CheckAsync(authorization, client: null, ct) == AuthOutcome.Authorized;

    /// <summary>
    /// Checks the <c>Authorization</c> header value of a request from <paramref name="client"/> (the TCP peer; null:
    /// unknown, all such requests count as one client). A basic-auth password not verified before is checked with
    /// bcrypt within that client's bound (<see cref="BcryptLimiter"/>), or not at all (<see cref="AuthOutcome.Throttled"/>).
    /// </summary>
    public async ValueTask<AuthOutcome> CheckAsync(string? authorization, IPAddress? client, CancellationToken ct)
    {
        // "SCHEME CREDENTIALS" split by hand: a token may hold characters (',', '=') a header-list parser would split on.
        var space = authorization?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space <= 0)
        {
            return AuthOutcome.Refused;
        }

        var scheme = authorization![..space];
        var parameter = authorization[(space + 1)..].Trim(' ');
        if (parameter.Length == 0)
        {
            return AuthOutcome.Refused;
        }

        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return _tokenDigest is not null && TokenMatches(parameter) ? AuthOutcome.Authorized : AuthOutcome.Refused;
        }

        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && _users.Count > 0 && TryDecodeBasic(parameter, out var user, out var password))
        {
            return await VerifyAsync(user, password, BcryptLimiter.ClientKey(client), ct);
        }

        return AuthOutcome.Refused;
    }

    private bool TokenMatches(string presented)
    {
        // Digests have equal length, so the comparison takes the same time whatever the presented token's length.
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(digest, _tokenDigest);
    }

    private async ValueTask<AuthOutcome> VerifyAsync(string user, string password, string client, CancellationToken ct)
    {
        var known = _users.TryGetValue(user, out var hash);
        hash = known ? hash! : _decoyHash;
        var key = CacheKey(user, password, hash);
        if (known && _verified.ContainsKey(key))
        {
            return AuthOutcome.Authorized;
        }

        bool ok;
        using (var lease = await _bcrypt.EnterAsync(client, ct))
        {
            if (lease is null)
            {
                return AuthOutcome.Throttled;
            }

            // A request with the same credentials may have been verified while this one waited.
            if (known && _verified.ContainsKey(key))
            {
                return AuthOutcome.Authorized;
            }

            try
            {
                ok = BCrypt.Net.BCrypt.Verify(password, hash);
            }
            catch (BCrypt.Net.SaltParseException)
            {
                // The loader admits only well-formed hashes; a hash BCrypt.Net still rejects is no match, not a crash.
                ok = false;
            }
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

        return ok && known ? AuthOutcome.Authorized : AuthOutcome.Refused;
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
    /// configured. A request without them gets 401 with <c>WWW-Authenticate</c> and an empty body; one whose password
    /// could not be checked because its client is at its bound of bcrypt work gets 429 with <c>Retry-After: 1</c>, after
    /// <see cref="RoadmapAuth.ThrottledDelay"/>.
    /// </summary>
    public static IApplicationBuilder UseRoadmapAuth(this IApplicationBuilder app, AuthConfig? config)
    {
        if (config is null)
        {
            return app;
        }

        var auth = new RoadmapAuth(config);
        var time = app.ApplicationServices.GetRequiredService<TimeProvider>();
        app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(auth.Dispose);
        return app.Use(async (context, next) =>
        {
            // The probes pass before anything else, so a password flood never stands between them and an answer.
            var outcome = RoadmapAuth.IsOpen(context.Request.Path)
                ? AuthOutcome.Authorized
                : await auth.CheckAsync(context.Request.Headers.Authorization, context.Connection.RemoteIpAddress, context.RequestAborted);
            if (outcome == AuthOutcome.Authorized)
            {
                await next(context);
                return;
            }

            if (outcome == AuthOutcome.Throttled)
            {
                try
                {
                    await Task.Delay(RoadmapAuth.ThrottledDelay, time, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return; // the client is gone
                }

                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers.RetryAfter = "1";
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = auth.Challenge;
            }

            context.Response.Headers.CacheControl = "no-store";
            context.Response.ContentLength = 0;
        });
    }
}
