using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Worker.Scheduling;

namespace Roadmap.Worker.Tests.Scheduling;

public sealed class SourcePoolTests
{
    private sealed class FakeSource(string id) : ISource
    {
        public SourceConfig Config { get; } = new(id, "fake", new PollSchedule(TimeSpan.FromSeconds(1), null), TimeSpan.FromMilliseconds(800), new object(), ["value"]);

        public int Disposals { get; private set; }

        public ValueTask<PollResult> PollAsync(CancellationToken cancellationToken) => ValueTask.FromResult(PollResult.Ok([], TimeSpan.Zero));

        public ValueTask DisposeAsync()
        {
            Disposals++;
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Swap_SourceNotInUse_DisposesItAtOnceThenReportsIt()
    {
        var old = new FakeSource("a");
        var pool = new SourcePool([old]);
        var retired = new List<(ISource Source, int Disposals)>();

        var replaced = await pool.Swap("a", null, s => retired.Add((s, ((FakeSource)s).Disposals)));

        Assert.Same(old, replaced);
        Assert.Null(pool.Find("a"));
        Assert.Null(pool.Acquire("a"));
        // Reported after it was disposed, exactly once.
        Assert.Equal([(old, 1)], retired.Select(r => (r.Source, r.Disposals)));
    }

    [Fact]
    public async Task Swap_SourceInUseByAPoll_DisposesItOnlyWhenTheLastPollReturnsIt()
    {
        var old = new FakeSource("a");
        var next = new FakeSource("a");
        var pool = new SourcePool([old]);
        var first = pool.Acquire("a")!;
        var second = pool.Acquire("a")!;
        var retired = 0;

        await pool.Swap("a", next, _ => retired++);

        Assert.Same(next, pool.Find("a"));
        Assert.Same(old, first.Source);
        Assert.Equal(0, old.Disposals);
        await first.DisposeAsync();
        await first.DisposeAsync(); // a lease returned twice counts once
        Assert.Equal(0, old.Disposals);
        await second.DisposeAsync();
        Assert.Equal(1, old.Disposals);
        Assert.Equal(1, retired);
        Assert.Equal(0, next.Disposals);
    }

    [Fact]
    public async Task DisposeAsync_LeasedSourceNotSwapped_IsDisposedWithThePoolOnce()
    {
        var source = new FakeSource("a");
        var pool = new SourcePool([source]);
        var lease = pool.Acquire("a")!;

        await pool.DisposeAsync();
        await lease.DisposeAsync();

        Assert.Equal(1, source.Disposals);
    }

    [Fact]
    public async Task TryTakeTick_SameOrEarlierTickAgain_IsRefusedAcrossLeases()
    {
        var pool = new SourcePool([new FakeSource("a")]);

        await using (var first = pool.Acquire("a")!)
        {
            Assert.True(first.TryTakeTick(2000));
            Assert.False(first.TryTakeTick(2000));
        }

        await using var second = pool.Acquire("a")!;
        Assert.False(second.TryTakeTick(1000));
        Assert.True(second.TryTakeTick(3000));
    }

    [Fact]
    public async Task TryBeginPoll_WhileAnotherLeasePolls_IsRefusedUntilThatLeaseIsDisposed()
    {
        var pool = new SourcePool([new FakeSource("a"), new FakeSource("b")]);

        var first = pool.Acquire("a")!;
        Assert.True(first.TryBeginPoll());
        // Asked again by the same lease: still its poll.
        Assert.True(first.TryBeginPoll());
        await using (var second = pool.Acquire("a")!)
        {
            Assert.False(second.TryBeginPoll());
            // Another source is not held back.
            await using var other = pool.Acquire("b")!;
            Assert.True(other.TryBeginPoll());
        }

        // The refused lease's disposal did not end the first lease's poll.
        await using (var third = pool.Acquire("a")!)
        {
            Assert.False(third.TryBeginPoll());
        }

        await first.DisposeAsync();
        await using var fourth = pool.Acquire("a")!;
        Assert.True(fourth.TryBeginPoll());
    }

    [Fact]
    public async Task TryBeginPoll_SourceReplacedByAReload_TheNewSourceIsNotHeldBackByTheOldOnesPoll()
    {
        var pool = new SourcePool([new FakeSource("a")]);
        await using var old = pool.Acquire("a")!;
        Assert.True(old.TryBeginPoll());

        await pool.Swap("a", new FakeSource("a"));

        await using var replaced = pool.Acquire("a")!;
        Assert.True(replaced.TryBeginPoll());
    }
}
