using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// What the stored polls say about a source (<see cref="ISampleReadSession.PollState"/>), the same for every backend:
/// each backend answers the three questions, this puts them together and asks only what is needed.
/// </summary>
internal static class PollStates
{
    /// <param name="last">The source's last stored poll (ts unix ms, whether it succeeded, its reason); null: none.</param>
    /// <param name="previous">An earlier answer for the same source (see <see cref="ISampleReadSession.PollState"/>).</param>
    /// <param name="lastSuccessAfter">The ts of the source's last successful poll after the given ts; null: none.</param>
    /// <param name="firstPollAfter">The ts of the source's first poll after the given ts; null: none.</param>
    public static SourceState? From((long Ts, bool Success, string? Reason)? last, SourceState? previous, Func<long, long?> lastSuccessAfter, Func<long, long?> firstPollAfter)
    {
        if (last is not { } l)
        {
            return null;
        }

        var lastPoll = DateTimeOffset.FromUnixTimeMilliseconds(l.Ts);
        if (l.Success)
        {
            return new SourceState(lastPoll, lastPoll, null, null);
        }

        // While it was failing, only the polls after the previous answer's last one can hold a new success.
        var known = previous is { Failing: true } p && p.LastPoll <= lastPoll ? p : null;
        var lastSuccess = lastSuccessAfter(known?.LastPoll.ToUnixTimeMilliseconds() ?? long.MinValue);
        if (known is not null && lastSuccess is null)
        {
            return known with { LastPoll = lastPoll, LastError = l.Reason };
        }

        // The first poll after the last success (or the first stored poll) started the run of failures.
        var since = firstPollAfter(lastSuccess ?? long.MinValue) ?? l.Ts;
        return new SourceState(
            lastPoll,
            lastSuccess is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
            DateTimeOffset.FromUnixTimeMilliseconds(since),
            l.Reason);
    }
}
