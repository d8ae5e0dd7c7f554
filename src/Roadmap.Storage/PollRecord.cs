namespace Roadmap.Storage;

/// <summary>One poll of one source, as stored: when, how long, how it ended, and the samples it yielded.</summary>
/// <param name="TimestampMs">When the poll started, unix milliseconds UTC; its samples carry the same time.</param>
/// <param name="DurationSeconds">The poll's wall time.</param>
/// <param name="Reason">Why it failed; null on success.</param>
/// <param name="ScheduledMs">The scheduled time of the tick that ran the poll, unix milliseconds UTC; null when the poll
/// ran outside a schedule (e.g. <c>check</c>). Stored beside the start time so duplicate and missed ticks can be audited
/// with SQL.</param>
public sealed record PollRecord(
    string Source,
    long TimestampMs,
    double DurationSeconds,
    bool Success,
    string? Reason,
    IReadOnlyList<SignalSample> Samples,
    long? ScheduledMs = null);

/// <summary>A signal's value from one poll.</summary>
public readonly record struct SignalSample(string Signal, double Value);
