namespace Roadmap.Sources.Api;

/// <summary>
/// Resilience for API sources, tuned for pollers rather than request traffic: a poll every few seconds or minutes,
/// where a retry must finish inside the poll's timeout and a breaker must open on a handful of polls.
/// </summary>
public sealed class ApiClientOptions
{
    /// <summary>Retries after the first attempt, with exponential backoff and jitter. Default 2 (0 to 10).</summary>
    public int MaxRetries { get; init; } = 2;

    /// <summary>The first backoff; doubled for each retry, with jitter. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>One attempt's share of the source's timeout (the whole poll's budget). Default 0.6.</summary>
    public double AttemptTimeoutShare { get; init; } = 0.6;

    /// <summary>The most of a response body read; a larger body is a failure. Default 1 MiB.</summary>
    public int MaxResponseBytes { get; init; } = 1 << 20;

    /// <summary>How long a 403 or 429 without a Retry-After or rate-limit reset header stops requests. Default 60 s.</summary>
    public TimeSpan DefaultRateLimitBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Consecutive failed polls (all retries spent) that open the circuit. Default 5.</summary>
    public int BreakerFailures { get; init; } = 5;

    /// <summary>How long an open circuit skips polls before one trial poll. Default 1 min.</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromMinutes(1);
}
