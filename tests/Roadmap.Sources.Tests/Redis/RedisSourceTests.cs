using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>Against a real redis-server without a password, shared by the class.</summary>
public sealed class RedisSourceTests(RedisServerFixture fixture) : IClassFixture<RedisServerFixture>
{
    private readonly RedisServer _server = fixture.Server;

    private ISource Create() => RedisConfigs.Create(_server.Address, "2s");

    [Fact]
    public async Task PollAsync_FirstPoll_SucceedsWithoutIncreaseSamples()
    {
        await _server.LookUpAsync(hits: 3, misses: 2);
        await using var source = Create();

        var result = await source.PollAsync(CancellationToken.None);

        Assert.True(result.Success, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_KnownHitsAndMissesBetweenPolls_EmitsTheirIncreaseAndRatio()
    {
        await _server.LookUpAsync(hits: 10, misses: 10);
        await using var source = Create();
        var first = await source.PollAsync(CancellationToken.None);

        await _server.LookUpAsync(hits: 4, misses: 2);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(4, second.Value(RedisSourceKind.Hits));
        Assert.Equal(2, second.Value(RedisSourceKind.Misses));
        Assert.Equal(4.0 / 6, second.Value(RedisSourceKind.HitRatio));
        Assert.Equal(3, second.Samples.Count);
    }

    [Fact]
    public async Task PollAsync_ThreePolls_EachEmitsItsOwnInterval()
    {
        await using var source = Create();
        await source.PollAsync(CancellationToken.None);
        await _server.LookUpAsync(hits: 1, misses: 3);
        var second = await source.PollAsync(CancellationToken.None);

        await _server.LookUpAsync(hits: 5, misses: 0);
        var third = await source.PollAsync(CancellationToken.None);

        Assert.Equal([1, 3, 0.25], [second.Value(RedisSourceKind.Hits)!.Value, second.Value(RedisSourceKind.Misses)!.Value, second.Value(RedisSourceKind.HitRatio)!.Value]);
        Assert.Equal([5, 0, 1], [third.Value(RedisSourceKind.Hits)!.Value, third.Value(RedisSourceKind.Misses)!.Value, third.Value(RedisSourceKind.HitRatio)!.Value]);
    }

    [Fact]
    public async Task PollAsync_NoLookupsBetweenPolls_EmitsZeroIncreaseAndNoRatio()
    {
        await using var source = Create();
        await source.PollAsync(CancellationToken.None);
        await _server.RunAsync("SET", "written", "only");

        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(second.Success, second.Failure);
        Assert.Equal(0, second.Value(RedisSourceKind.Hits));
        Assert.Equal(0, second.Value(RedisSourceKind.Misses));
        Assert.Null(second.Value(RedisSourceKind.HitRatio));
    }

    [Fact]
    public async Task PollAsync_ResetStatBetweenPolls_IncreaseIsTheNewCounters()
    {
        await _server.LookUpAsync(hits: 5, misses: 5);
        await using var source = Create();
        var first = await source.PollAsync(CancellationToken.None);

        await _server.RunAsync("CONFIG", "RESETSTAT");
        await _server.LookUpAsync(hits: 2, misses: 1);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(2, second.Value(RedisSourceKind.Hits));
        Assert.Equal(1, second.Value(RedisSourceKind.Misses));
        Assert.Equal(2.0 / 3, second.Value(RedisSourceKind.HitRatio));
    }

    [Fact]
    public async Task PollAsync_SeveralPolls_KeepOneConnection()
    {
        await using var source = Create();
        await source.PollAsync(CancellationToken.None);
        var afterFirst = await _server.ClientIdsAsync("roadmap");

        await source.PollAsync(CancellationToken.None);
        await source.PollAsync(CancellationToken.None);
        var afterThird = await _server.ClientIdsAsync("roadmap");

        var id = Assert.Single(afterFirst);
        Assert.Equal([id], afterThird);
    }

    [Fact]
    public async Task DisposeAsync_AfterPolls_ClosesTheConnection()
    {
        var source = Create();
        await source.PollAsync(CancellationToken.None);
        Assert.Single(await _server.ClientIdsAsync("roadmap"));

        await source.DisposeAsync();

        // The server drops the client when it reads the close; give it a moment, not a schedule.
        var clock = Stopwatch.StartNew();
        while ((await _server.ClientIdsAsync("roadmap")).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }

        Assert.Empty(await _server.ClientIdsAsync("roadmap"));
    }

    [Fact]
    public async Task PollAsync_PollsOwnConnection_MakesNoKeyspaceLookups()
    {
        // The client library's tie-breaker is a GET; were it on, every (re)connect would count as a miss.
        await using var source = Create();
        await source.PollAsync(CancellationToken.None);
        await using var other = Create();
        await other.PollAsync(CancellationToken.None);

        var second = await source.PollAsync(CancellationToken.None);

        Assert.Equal(0, second.Value(RedisSourceKind.Hits));
        Assert.Equal(0, second.Value(RedisSourceKind.Misses));
    }

    [Fact]
    public async Task PollAsync_CallerTokenAlreadyCancelled_Throws()
    {
        await using var source = Create();
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }

    [Fact]
    public async Task PollAsync_CallerTokenCancelledAfterAPoll_ThrowsAndTheNextPollStillWorks()
    {
        await using var source = Create();
        await source.PollAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
        await _server.LookUpAsync(hits: 1, misses: 1);
        var next = await source.PollAsync(CancellationToken.None);

        Assert.True(next.Success, next.Failure);
        Assert.Equal(0.5, next.Value(RedisSourceKind.HitRatio));
    }
}
