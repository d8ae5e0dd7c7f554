using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

/// <summary>What the stored polls say about a source, for the reason of a KPI not met; one concrete subclass per backend.</summary>
public abstract class SampleReadSessionTests(StorageTestBackend backend) : IDisposable
{
    private static readonly DateTimeOffset T0 = TestClock.RecentMidnight;

    public void Dispose()
    {
        backend.Dispose();
        GC.SuppressFinalize(this);
    }

    private static PollRecord Poll(string source, int minute, bool success, string? reason = null) =>
        new(source, At(minute).ToUnixTimeMilliseconds(), 0.01, success, success ? null : reason ?? $"failure at minute {minute}", []);

    private static DateTimeOffset At(int minute) => T0.AddMinutes(minute);

    private async Task<IRoadmapStorage> WithPolls(params PollRecord[] polls)
    {
        var db = backend.Open();
        await using var writer = new BatchedWriter(db, new StorageOptions(), TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        foreach (var poll in polls)
        {
            Assert.True(writer.TryEnqueue(poll));
        }

        await writer.FlushAsync();
        return db;
    }

    [Fact]
    public async Task PollState_LastPollSucceeded_IsNotFailing()
    {
        var db = await WithPolls(Poll("web", 0, false), Poll("web", 1, true), Poll("other", 2, false));
        using var session = db.Samples.OpenSession();

        var state = session.PollState("web");

        Assert.Equal(new SourceState(At(1), At(1), null, null), state);
        Assert.False(state!.Failing);
    }

    [Fact]
    public async Task PollState_FailingAfterSuccesses_IsFailingSinceTheFirstFailureAfterTheLastSuccessWithTheLastReason()
    {
        var db = await WithPolls(
            Poll("web", 0, true), Poll("web", 1, false), Poll("web", 2, true), Poll("web", 3, false, "refused"), Poll("web", 4, false, "HTTP 500"),
            Poll("other", 5, true));
        using var session = db.Samples.OpenSession();

        var state = session.PollState("web");

        Assert.Equal(new SourceState(At(4), At(2), At(3), "HTTP 500"), state);
    }

    [Fact]
    public async Task PollState_NeverSucceeded_IsFailingSinceItsFirstPoll()
    {
        var db = await WithPolls(Poll("web", 3, false), Poll("web", 7, false, "timeout"));
        using var session = db.Samples.OpenSession();

        Assert.Equal(new SourceState(At(7), null, At(3), "timeout"), session.PollState("web"));
    }

    [Fact]
    public async Task PollState_NoPoll_IsNull()
    {
        var db = await WithPolls(Poll("web", 0, true));
        using var session = db.Samples.OpenSession();

        Assert.Null(session.PollState("unknown"));
    }

    [Fact]
    public async Task PollState_WithThePreviousFailingState_KeepsItsSinceAndTakesTheNewReason()
    {
        // The previous answer says failing since minute 3, though the stored polls would say minute 5: only polls after
        // its last one are searched, so its since is kept (which proves the earlier failures were not read again).
        var db = await WithPolls(Poll("web", 5, false), Poll("web", 6, false, "still down"));
        using var session = db.Samples.OpenSession();
        var previous = new SourceState(At(5), At(2), At(3), "down");

        Assert.Equal(new SourceState(At(6), At(2), At(3), "still down"), session.PollState("web", previous));
    }

    [Fact]
    public async Task PollState_WithThePreviousFailingStateAndASuccessSince_StartsANewRun()
    {
        var db = await WithPolls(Poll("web", 5, false), Poll("web", 6, true), Poll("web", 7, false, "down again"));
        using var session = db.Samples.OpenSession();
        var previous = new SourceState(At(5), At(2), At(3), "down");

        Assert.Equal(new SourceState(At(7), At(6), At(7), "down again"), session.PollState("web", previous));
    }
}
