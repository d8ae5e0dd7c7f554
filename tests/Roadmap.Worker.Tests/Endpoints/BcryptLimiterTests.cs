using System.Net;
using Roadmap.Worker.Endpoints;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed class BcryptLimiterTests
{
    [Fact]
    public async Task EnterAsync_ClientWithOneRunningAndItsQueueFull_IsTurnedAwayAtOnce()
    {
        using var limiter = new BcryptLimiter(globalConcurrency: 4);
        using var running = await limiter.EnterAsync("a", CancellationToken.None);
        var waiting = Enumerable.Range(0, BcryptLimiter.PerClientQueue).Select(_ => limiter.EnterAsync("a", CancellationToken.None).AsTask()).ToList();

        var refused = limiter.EnterAsync("a", CancellationToken.None);

        Assert.NotNull(running);
        Assert.All(waiting, w => Assert.False(w.IsCompleted));
        Assert.True(refused.IsCompletedSuccessfully);
        Assert.Null(await refused);
        running!.Dispose();
        foreach (var w in waiting)
        {
            (await w)!.Dispose();
        }
    }

    [Fact]
    public async Task EnterAsync_OneClientFlooding_LeavesAGlobalSlotForANewClient()
    {
        // The default: at least two slots, whatever the machine.
        using var limiter = new BcryptLimiter();
        using var flooding = await limiter.EnterAsync("a", CancellationToken.None);
        var queued = Enumerable.Range(0, BcryptLimiter.PerClientQueue).Select(_ => limiter.EnterAsync("a", CancellationToken.None).AsTask()).ToList();

        var other = limiter.EnterAsync("b", CancellationToken.None);

        Assert.True(limiter.GlobalConcurrency >= 2);
        Assert.True(other.IsCompletedSuccessfully, "the second client waited for the first one's flood");
        (await other)!.Dispose();
        flooding!.Dispose();
        foreach (var q in queued)
        {
            (await q)!.Dispose();
        }
    }

    [Fact]
    public async Task EnterAsync_ClientsWaitingForTheGlobalSlot_AreServedInTurnNotByVolume()
    {
        using var limiter = new BcryptLimiter(globalConcurrency: 1);
        var a1 = await limiter.EnterAsync("a", CancellationToken.None);
        var a2 = limiter.EnterAsync("a", CancellationToken.None).AsTask();
        var b = limiter.EnterAsync("b", CancellationToken.None).AsTask();
        var c = limiter.EnterAsync("c", CancellationToken.None).AsTask();

        // a's second request was first in line, but it waits behind a's first for a's turn; b and c reached the
        // global queue before it could.
        a1!.Dispose();
        var first = await b;
        Assert.False(a2.IsCompleted || c.IsCompleted);
        first!.Dispose();
        var second = await c;
        Assert.False(a2.IsCompleted);
        second!.Dispose();
        (await a2)!.Dispose();
    }

    [Fact]
    public async Task EnterAsync_WaitCancelledAndLeasesReturned_ForgetsTheClient()
    {
        using var limiter = new BcryptLimiter(globalConcurrency: 1);
        var held = await limiter.EnterAsync("a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = limiter.EnterAsync("a", cancel.Token).AsTask();
        var other = limiter.EnterAsync("b", cancel.Token).AsTask();
        Assert.Equal(2, limiter.ClientCount);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => other);
        held!.Dispose();
        held.Dispose(); // a second dispose gives nothing back twice

        Assert.Equal(0, limiter.ClientCount);
        // Every place was given back: the one slot is free, and a's queue is empty again.
        var again = limiter.EnterAsync("a", CancellationToken.None);
        Assert.True(again.IsCompletedSuccessfully);
        (await again)!.Dispose();
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("127.0.0.2", "127.0.0.2")]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void ClientKey_Address_IsCountedPerIPv4AddressOrIPv6Block(string? address, string expected)
    {
        Assert.Equal(expected, BcryptLimiter.ClientKey(address is null ? null : IPAddress.Parse(address)));
    }
}
