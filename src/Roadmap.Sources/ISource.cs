using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources;

/// <summary>
/// One configured source, ready to poll. A poll returns samples, or a failure with its reason: failures are data.
/// Only cancellation of <c>cancellationToken</c> escapes as an exception.
/// </summary>
public interface ISource : IAsyncDisposable
{
    SourceConfig Config { get; }

    ValueTask<PollResult> PollAsync(CancellationToken cancellationToken);

    /// <summary>
    /// What a poll connects to, for the log line of a failed poll: the URL an HTTP-based kind requests, through
    /// <see cref="SourceTarget.Of"/> (no user info, no query, secrets redacted). Default: null, nothing named.
    /// </summary>
    string? Target => null;
}

/// <summary>A source kind: reads its config keys (via <see cref="ISourceKindSpec"/>) and creates its sources.</summary>
public interface ISourceKind : ISourceKindSpec
{
    ISource Create(SourceConfig config, SourceContext context);

    /// <summary>
    /// Readies the kind's machinery before its first scheduled poll, so that poll measures the target and not
    /// this process's cold start (JIT of the HTTP stack takes longer than a short probe timeout). Default: nothing.
    /// </summary>
    ValueTask WarmUpAsync(SourceContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// True when a poll's signals are changes since the previous reading (redis: hits and misses since the last
    /// poll), so the first poll of a new source is only a baseline with no samples. The <c>check</c> verb then reads
    /// such a source twice, a short interval apart, and shows the second reading. Default: false.
    /// </summary>
    bool NeedsPreviousReading => false;
}

/// <summary>What sources may use from the host.</summary>
/// <param name="Network">Where sources may connect (<c>settings.network</c>); null: <see cref="NetworkPolicy.Default"/>.</param>
public sealed record SourceContext(TimeProvider Time, ILoggerFactory Logs, NetworkPolicy? Network = null)
{
    /// <summary>Where sources may connect; every connection a source opens goes through it.</summary>
    public NetworkPolicy Network { get; init; } = Network ?? NetworkPolicy.Default;
}

/// <summary>The outcome of one poll.</summary>
/// <param name="Samples">The signals measured. A failed poll may still carry samples (an http probe's up = 0).</param>
/// <param name="Failure">Why the poll failed, in words fit for an operator; null on success. Never holds a secret.</param>
/// <param name="Duration">The poll's wall time.</param>
public sealed record PollResult(IReadOnlyList<Sample> Samples, string? Failure, TimeSpan Duration)
{
    public bool Success => Failure is null;

    public static PollResult Ok(IReadOnlyList<Sample> samples, TimeSpan duration) => new(samples, null, duration);

    public static PollResult Failed(string reason, TimeSpan duration, IReadOnlyList<Sample>? samples = null) =>
        new(samples ?? [], reason, duration);
}

/// <summary>A signal's value.</summary>
public readonly record struct Sample(string Signal, double Value);
