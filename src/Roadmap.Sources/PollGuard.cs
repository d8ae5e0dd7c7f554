using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;

namespace Roadmap.Sources;

/// <summary>
/// The poll boundary, the one place a poll is started from (the scheduler's poll job and the <c>check</c> verb):
/// whatever a source does, a poll ends in a <see cref="PollResult"/>. <see cref="ISource"/> promises that only
/// cancellation escapes, but a kind's bug (an exception thrown, synchronously or not, or no result at all) must not
/// leave a poll unrecorded and uncounted: it becomes a failed poll with the reason
/// <c>internal error: &lt;exception type&gt;: &lt;message&gt;</c>. Every reason, a source's own or this one, leaves
/// here redacted (<see cref="SourceConfig.Redact"/>).
/// </summary>
/// <remarks>
/// An internal error is logged at Error with its stack the first time for a source, then at most once per
/// <see cref="LogEvery"/> per source with the count of those not logged in between: a source that throws on every
/// poll (every few seconds) would otherwise fill the log with the same stack.
/// </remarks>
public sealed partial class PollGuard(TimeProvider time, ILogger log)
{
    /// <summary>The longest a reason quotes of an exception's message, in characters: 300.</summary>
    public const int MaxMessageChars = 300;

    private readonly ConcurrentDictionary<string, LogState> _logged = new(StringComparer.Ordinal);

    /// <summary>How often an internal error of one source is logged at most. Default 10 min.</summary>
    public TimeSpan LogEvery { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Warms up each kind once (<see cref="ISourceKind.WarmUpAsync"/>). A warm-up that throws is passed over: it only
    /// spares the first poll the process's cold start, and that poll, through the boundary, reports any real problem.
    /// Only cancellation of <paramref name="cancellationToken"/> escapes.
    /// </summary>
    public static async Task WarmUpAsync(IEnumerable<ISourceKind> kinds, SourceContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        foreach (var kind in kinds.Distinct())
        {
            try
            {
                await kind.WarmUpAsync(context, cancellationToken);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The first poll of the kind pays the cold start instead.
            }
        }
    }

    /// <summary>
    /// Polls <paramref name="source"/> once. Only cancellation of <paramref name="cancellationToken"/> escapes; any
    /// other exception is a failed poll. The failure reason, if any, is redacted.
    /// </summary>
    public async ValueTask<PollResult> PollAsync(ISource source, CancellationToken cancellationToken)
    {
        var config = source.Config;
        var started = time.GetTimestamp();
        PollResult? result;
        try
        {
            // Inside the try: a PollAsync that throws before returning its ValueTask is caught too.
            result = await source.PollAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var reason = config.Redact($"internal error: {e.GetType().Name}: {OneLine(e.Message)}")!;
            Report(config, reason, e);
            return PollResult.Failed(reason, time.GetElapsedTime(started));
        }

        // A default ValueTask<PollResult> (a kind's bug) holds null despite the signature.
        if (result is null)
        {
            const string reason = "internal error: the source returned no result";
            Report(config, reason, exception: null);
            return PollResult.Failed(reason, time.GetElapsedTime(started));
        }

        return result.Failure is null ? result : result with { Failure = config.Redact(result.Failure) };
    }

    /// <summary>The message on one line (a table row, a log line, a label), at most <see cref="MaxMessageChars"/>.</summary>
    private static string OneLine(string message) =>
        ServerText.Shorten(string.Create(message.Length, message, static (span, m) =>
        {
            for (var i = 0; i < m.Length; i++)
            {
                span[i] = char.IsControl(m[i]) ? ' ' : m[i];
            }
        }).Trim(), MaxMessageChars);

    private void Report(SourceConfig config, string reason, Exception? exception)
    {
        var now = time.GetUtcNow();
        var state = _logged.GetOrAdd(config.Id, static _ => new LogState());
        int suppressed;
        lock (state.Gate)
        {
            if (state.LastLogged is { } last && now - last < LogEvery)
            {
                state.Suppressed++;
                return;
            }

            suppressed = state.Suppressed;
            state.Suppressed = 0;
            state.LastLogged = now;
        }

        // The stack as text, redacted: the exception's messages (its inner ones' too) may quote a configured secret.
        var stack = exception is null ? "(no exception)" : config.Redact(exception.ToString())!;
        LogInternalError(log, config.Id, config.Kind, reason, suppressed, Durations.Format(LogEvery), stack);
    }

    [LoggerMessage(
        Level = LogLevel.Error,
        Message = "Poll of source {Source} (kind {Kind}) failed with an {Reason}; a bug in the kind, recorded as a failed poll. " +
            "{Suppressed} more of this source were not logged before this one; the next is logged at most {Every} after this one.\n{Stack}")]
    private static partial void LogInternalError(ILogger log, string source, string kind, string reason, int suppressed, string every, string stack);

    private sealed class LogState
    {
        public Lock Gate { get; } = new();

        public DateTimeOffset? LastLogged { get; set; }

        public int Suppressed { get; set; }
    }
}
