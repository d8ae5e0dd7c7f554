using System.Globalization;
using System.Net.Http.Headers;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Api;

/// <summary>
/// The HTTP client every API source kind (prometheus, json, github, gitlab, jira) polls through, one per source.
/// Inside the source's timeout: bounded retries with jitter for transient failures (connection errors, 5xx, 408,
/// 429 whose wait fits), Retry-After and rate-limit reset headers honoured — a wait that does not fit stops all
/// requests until it has passed, rather than hammering — a circuit breaker counted in polls, and a cap on the bytes
/// read. Every failure comes back as a reason; only cancellation of the caller's token escapes.
/// </summary>
public sealed class ApiClient : IDisposable
{
    private readonly SourceConfig _source;
    private readonly ApiClientOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<ApiResponse> _pipeline;
    private DateTimeOffset _blockedUntil = DateTimeOffset.MinValue;
    private string? _blockedBecause;

    public ApiClient(SourceConfig source, SourceContext context, ApiClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _source = source;
        _options = options ?? new ApiClientOptions();
        _time = context.Time;
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = source.Timeout,
            AutomaticDecompression = System.Net.DecompressionMethods.All,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Roadmap/1.0");

        var attempt = TimeSpan.FromMilliseconds(Math.Max(10, source.Timeout.TotalMilliseconds * _options.AttemptTimeoutShare));
        _pipeline = new ResiliencePipelineBuilder<ApiResponse> { TimeProvider = _time }
            .AddTimeout(source.Timeout)
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ApiResponse>
            {
                // Counted in polls: the breaker sits outside the retries. The sampling window is long, so that a
                // source polled every few minutes can still gather enough failures to open it.
                FailureRatio = 1.0,
                MinimumThroughput = _options.BreakerFailures,
                SamplingDuration = TimeSpan.FromHours(1),
                BreakDuration = _options.BreakDuration,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            })
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
    public async Task<ApiResult> SendAsync(Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (now < _blockedUntil)
        {
            return ApiResult.Failed($"rate-limited ({_blockedBecause}): no request until {_blockedUntil.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
        }

        try
        {
            var response = await _pipeline.ExecuteAsync(ct => SendOnceAsync(build, ct), cancellationToken);
            if (response.IsSuccess)
            {
                return new ApiResult(response, null);
            }

            if (response.Status is 429 or 403 && RateLimitWait(response) is { } wait)
            {
                _blockedUntil = _time.GetUtcNow() + wait;
                _blockedBecause = response.StatusLine;
                return ApiResult.Failed($"rate-limited: {response.StatusLine}, waiting {Durations.Format(wait)} before the next request");
            }

            return ApiResult.Failed(response.Status switch
            {
                401 => $"{response.StatusLine}: authentication failed",
                403 => $"{response.StatusLine}: permission denied",
                _ => response.StatusLine,
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (TimeoutRejectedException)
        {
            return ApiResult.Failed($"timeout after {Durations.Format(_source.Timeout)}");
        }
        catch (BrokenCircuitException e)
        {
            var next = e.RetryAfter is { } after ? $"; next try in {Durations.Format(TimeSpan.FromSeconds(Math.Ceiling(after.TotalSeconds)))}" : "";
            return ApiResult.Failed($"circuit open after {_options.BreakerFailures} failed polls in a row{next}");
        }
        catch (HttpRequestException e)
        {
            return ApiResult.Failed(NetworkErrors.Describe(e));
        }
        catch (ResponseTooLargeException)
        {
            return ApiResult.Failed($"response body over the {_options.MaxResponseBytes / 1024} KiB cap");
        }
        catch (IOException e)
        {
            return ApiResult.Failed($"connection error: {e.Message}");
        }
    }

    public void Dispose() => _http.Dispose();

    private async ValueTask<ApiResponse> SendOnceAsync(Func<HttpRequestMessage> build, CancellationToken ct)
    {
        using var request = build();
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
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
        { Exception: HttpRequestException or TimeoutRejectedException or IOException } => true,
        { Result.Status: >= 500 or 408 or 429 } => true,
        _ => false,
    };

    /// <summary>A retry is only worth it when the wait the server asks for fits in what is left of the poll's timeout.</summary>
    private bool WaitFits(Outcome<ApiResponse> outcome) =>
        outcome.Result is not { } r || ServerWait(r) is not { } wait || wait < _source.Timeout * 0.5;

    /// <summary>The wait a response asks for: Retry-After, or a spent rate limit's reset time.</summary>
    private TimeSpan? ServerWait(ApiResponse r)
    {
        var now = _time.GetUtcNow();
        if (r.Headers.RetryAfter is { } retryAfter)
        {
            var wait = retryAfter.Delta ?? (retryAfter.Date - now) ?? TimeSpan.Zero;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        var remaining = r.Header("x-ratelimit-remaining") ?? r.Header("ratelimit-remaining");
        var reset = r.Header("x-ratelimit-reset") ?? r.Header("ratelimit-reset");
        if (remaining == "0" && long.TryParse(reset, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
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
        if (r.Status == 403 && remaining is not null && remaining != "0" && !r.Text.Contains("rate limit", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return _options.DefaultRateLimitBackoff;
    }

    private sealed class ResponseTooLargeException : Exception;
}
