using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Api;

/// <summary>
/// The HTTP client every API source kind (prometheus, json, github, gitlab, jira) polls through, one per source.
/// Inside the source's timeout: bounded retries with jitter for transient failures (connection errors, 5xx, 408,
/// 429 whose wait is stated and fits), Retry-After and rate-limit reset headers honoured — a wait that does not fit
/// stops all requests until it has passed, rather than hammering — a circuit breaker counted in consecutive failed
/// polls, and a cap on the bytes read. Every failure comes back as a reason; only cancellation of the caller's token
/// escapes.
/// </summary>
public sealed class ApiClient : IDisposable
{
    private readonly SourceConfig _source;
    private readonly ApiClientOptions _options;
    private readonly TimeProvider _time;
    private readonly int _maxRedirects;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<ApiResponse> _pipeline;
    private readonly Lock _gate = new();
    private DateTimeOffset _blockedUntil = DateTimeOffset.MinValue;
    private string? _blockedBecause;

    // The circuit: failed polls in a row, and until when it stays open once they reach BreakerFailures.
    private int _failedPolls;
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;

    public ApiClient(SourceConfig source, SourceContext context, ApiClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _source = source;
        _options = options ?? new ApiClientOptions();
        _time = context.Time;
        _maxRedirects = context.Network.MaxRedirects;

        // The connect goes through the network policy: every connection, the redirect hops' included, reaches only
        // addresses it allows, and the address checked is the one connected to. The TLS handshake is ours too
        // (TracedConnect), so the source's tls block (a private CA, a client certificate; its files reloaded when
        // they change) applies to every https connection, a redirect hop's included.
        var tls = new TlsClient(
            (source.Options as ITlsOptions)?.Tls ?? TlsSettings.Default, source.Id, context.Logs.CreateLogger(typeof(TlsClient).FullName!), _time);
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            // Redirects are followed by hand (RedirectPolicy): the handler would forward our tokens (PRIVATE-TOKEN,
            // configured headers) to whatever host a redirect names.
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = source.Timeout,
            AutomaticDecompression = System.Net.DecompressionMethods.All,
        }.Traced(context.Network, _time, tls))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Roadmap/1.0");

        var attempt = TimeSpan.FromMilliseconds(Math.Max(10, source.Timeout.TotalMilliseconds * _options.AttemptTimeoutShare));
        // The circuit breaker is not a Polly strategy: Polly's counts a failure ratio over a sampling window, so one
        // success in the window kept it closed through any number of failures, and it counted a poll ended by the
        // outer timeout (an OperationCanceledException inside it) as a success. Ours counts whole polls, in a row.
        _pipeline = new ResiliencePipelineBuilder<ApiResponse> { TimeProvider = _time }
            .AddTimeout(source.Timeout)
            .AddRetry(new RetryStrategyOptions<ApiResponse>
            {
                MaxRetryAttempts = Math.Max(1, _options.MaxRetries),
                Delay = _options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(_options.MaxRetries > 0 && IsTransient(args.Outcome) && WaitFits(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r ? ServerWait(r) : null),
            })
            .AddTimeout(attempt)
            .Build();
    }

    /// <summary>Sends the request <paramref name="build"/> makes (called once per attempt).</summary>
    /// <returns>A 2xx response, or the reason there is none (any other status is a failure).</returns>
    public Task<ApiResult> SendAsync(Func<HttpRequestMessage> build, CancellationToken cancellationToken) =>
        SendAsync(build, readable: null, cancellationToken);

    /// <summary>
    /// Sends the request <paramref name="build"/> makes (called once per attempt). A final non-2xx response that
    /// <paramref name="readable"/> accepts comes back as a response rather than a bare status line, for APIs that
    /// explain their errors in the body (Prometheus: HTTP 400 with errorType and error). A rate limit is handled
    /// before <paramref name="readable"/> is asked.
    /// </summary>
    public async Task<ApiResult> SendAsync(Func<HttpRequestMessage> build, Func<ApiResponse, bool>? readable, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (now < _blockedUntil)
            {
                return ApiResult.Failed($"rate-limited ({_blockedBecause}): no request until {_blockedUntil.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
            }

            if (now < _openUntil)
            {
                var next = TimeSpan.FromSeconds(Math.Ceiling((_openUntil - now).TotalSeconds));
                return ApiResult.Failed($"circuit open after {_options.BreakerFailures} failed polls in a row; next try in {Durations.Format(next)}");
            }

            if (_failedPolls >= _options.BreakerFailures)
            {
                // Half-open: this poll is the trial; the others wait for its outcome as if the circuit were still open.
                _openUntil = now + _options.BreakDuration;
            }
        }

        Outcome<ApiResponse> outcome;
        Outcome<ApiResponse>? lastAttempt = null;
        try
        {
            outcome = Outcome.FromResult(await _pipeline.ExecuteAsync(
                async ct =>
                {
                    try
                    {
                        var response = await SendOnceAsync(build, ct);
                        lastAttempt = Outcome.FromResult(response);
                        return response;
                    }
                    catch (Exception e) when (e is HttpRequestException or ResponseTooLargeException or RedirectRefusedException or IOException)
                    {
                        lastAttempt = Outcome.FromException<ApiResponse>(e);
                        throw;
                    }
                },
                cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                // A cancelled trial says nothing: let the next poll try.
                _openUntil = DateTimeOffset.MinValue;
            }

            throw;
        }
        catch (Exception e) when (e is TimeoutRejectedException or HttpRequestException or ResponseTooLargeException or RedirectRefusedException or IOException)
        {
            outcome = Outcome.FromException<ApiResponse>(e);
        }

        // When the poll's time runs out while waiting to retry, what the server last said is the reason, not "timeout".
        if (outcome.Exception is TimeoutRejectedException && lastAttempt is { } last)
        {
            outcome = last;
        }

        Count(outcome);
        return outcome switch
        {
            { Exception: TimeoutRejectedException } => ApiResult.Failed($"timeout after {Durations.Format(_source.Timeout)}"),
            { Exception: HttpRequestException e } => ApiResult.Failed(NetworkErrors.Describe(e)),
            { Exception: ResponseTooLargeException } => ApiResult.Failed($"response body over the {FormatBytes(_options.MaxResponseBytes)} cap"),
            { Exception: IOException e } => ApiResult.Failed($"connection error: {e.Message}"),
            { Exception: RedirectRefusedException e } => ApiResult.Failed(e.Message),
            _ => Judge(outcome.Result!, readable),
        };
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Counts a finished poll for the circuit: a transient failure (all retries spent) adds one, anything else resets.</summary>
    private void Count(Outcome<ApiResponse> outcome)
    {
        lock (_gate)
        {
            if (!IsTransient(outcome))
            {
                _failedPolls = 0;
                _openUntil = DateTimeOffset.MinValue;
                return;
            }

            _failedPolls++;
            _openUntil = _failedPolls >= _options.BreakerFailures ? _time.GetUtcNow() + _options.BreakDuration : DateTimeOffset.MinValue;
        }
    }

    private ApiResult Judge(ApiResponse response, Func<ApiResponse, bool>? readable)
    {
        if (response.IsSuccess)
        {
            return new ApiResult(response, null);
        }

        if (response.Status is 429 or 403 && RateLimitWait(response) is { } wait)
        {
            lock (_gate)
            {
                _blockedUntil = _time.GetUtcNow() + wait;
                _blockedBecause = response.StatusLine;
            }

            return ApiResult.Failed($"rate-limited: {response.StatusLine}, waiting {Durations.Format(wait)} before the next request");
        }

        if (readable?.Invoke(response) == true)
        {
            return new ApiResult(response, null);
        }

        return ApiResult.Failed(response.Status switch
        {
            401 => $"{response.StatusLine}: authentication failed",
            403 => $"{response.StatusLine}: permission denied",
            _ => response.StatusLine,
        });
    }

    private static string FormatBytes(int bytes) =>
        bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";

    /// <summary>The request through <see cref="RedirectPolicy"/>; a redirect not followed is a failure here.</summary>
    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(Func<HttpRequestMessage> build, CancellationToken ct)
    {
        var end = await RedirectPolicy.SendAsync(build, (request, c) => _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, c), _maxRedirects, ct);
        if (end.NotFollowed is { } why)
        {
            end.Response.Dispose();
            throw new RedirectRefusedException(why);
        }

        return end.Response;
    }

    private async ValueTask<ApiResponse> SendOnceAsync(Func<HttpRequestMessage> build, CancellationToken ct)
    {
        using var response = await SendFollowingRedirectsAsync(build, ct);
        if (response.Content.Headers.ContentLength > _options.MaxResponseBytes)
        {
            throw new ResponseTooLargeException();
        }

        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var body = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
        {
            if (body.Length + n > _options.MaxResponseBytes)
            {
                throw new ResponseTooLargeException();
            }

            body.Write(buffer, 0, n);
        }

        return new ApiResponse((int)response.StatusCode, response.ReasonPhrase, response.Headers, response.Content.Headers.ContentType?.MediaType, body.ToArray());
    }

    private static bool IsTransient(Outcome<ApiResponse> outcome) => outcome switch
    {
        // Denied by the network policy: no retry or wait changes that.
        { Exception: HttpRequestException e } when NetworkErrors.FindInner<NetworkDeniedException>(e) is not null => false,
        { Exception: HttpRequestException or TimeoutRejectedException or IOException } => true,
        { Result.Status: >= 500 or 408 or 429 } => true,
        _ => false,
    };

    /// <summary>
    /// A retry is only worth it when the wait the server asks for fits in what is left of the poll's timeout. A 429
    /// that states no wait is not retried: a rate limiter that gives no time wants at least a minute (GitHub's
    /// guidance), not a retry a few hundred milliseconds later.
    /// </summary>
    private bool WaitFits(Outcome<ApiResponse> outcome) => outcome.Result switch
    {
        null => true,
        { Status: 429 } r => ServerWait(r) is { } wait && wait < _source.Timeout * 0.5,
        { } r => ServerWait(r) is not { } wait || wait < _source.Timeout * 0.5,
    };

    /// <summary>The wait a response asks for: Retry-After, or a spent rate limit's reset time.</summary>
    private TimeSpan? ServerWait(ApiResponse r) => ServerWait(r, _time.GetUtcNow());

    /// <summary>The wait a response asks for, seen at <paramref name="now"/>; null when it asks for none.</summary>
    internal static TimeSpan? ServerWait(ApiResponse r, DateTimeOffset now)
    {
        if (r.Headers.RetryAfter is { } retryAfter)
        {
            var wait = retryAfter.Delta ?? (retryAfter.Date - now) ?? TimeSpan.Zero;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        var remaining = r.Header("x-ratelimit-remaining") ?? r.Header("ratelimit-remaining");
        var reset = r.Header("x-ratelimit-reset") ?? r.Header("ratelimit-reset");
        // An epoch past year 9999 is no time at all (FromUnixTimeSeconds threw): the header is ignored.
        if (remaining == "0" && long.TryParse(reset, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            && epoch <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            // GitHub and GitLab send epoch seconds; a small number is a delay in seconds (the IETF draft's form).
            var until = epoch > 1_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds(epoch) : now.AddSeconds(epoch);
            return until > now ? until - now : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>
    /// How long to stop after a final 403/429: exactly what the server said; a bare one (no Retry-After, no
    /// rate-limit headers) at least <see cref="ApiClientOptions.DefaultRateLimitBackoff"/>. A 403 that shows quota
    /// left and says nothing of rate limits is a permission problem: null, no backoff.
    /// </summary>
    private TimeSpan? RateLimitWait(ApiResponse r)
    {
        if (ServerWait(r) is { } wait)
        {
            return wait;
        }

        var remaining = r.Header("x-ratelimit-remaining") ?? r.Header("ratelimit-remaining");
        var saysRateLimit = r.Text.Contains("rate limit", StringComparison.OrdinalIgnoreCase);
        if (r.Status == 403 && !saysRateLimit && ((remaining is not null && remaining != "0") || NamesPermissionProblem(r.Text)))
        {
            return null;
        }

        return _options.DefaultRateLimitBackoff;
    }

    /// <summary>A 403 body that names a permission problem (GitLab's insufficient_scope, "forbidden", ...).</summary>
    private static bool NamesPermissionProblem(string body) =>
        PermissionWords.Any(w => body.Contains(w, StringComparison.OrdinalIgnoreCase));

    private static readonly string[] PermissionWords = ["scope", "permission", "forbidden", "not allowed", "access denied", "unauthorized"];

    private sealed class ResponseTooLargeException : Exception;

    private sealed class RedirectRefusedException(string message) : Exception(message);
}
