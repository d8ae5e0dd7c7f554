using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>Servers that die, restart, never answer, or answer INFO wrongly: each test has its own.</summary>
public sealed class RedisSourceFailureTests
{
    [Fact]
    public async Task PollAsync_NothingListening_FailsWithConnectionRefusedWithinTheTimeout()
    {
        await using var source = RedisConfigs.Create($"127.0.0.1:{ClosedPort()}", "14s");
        var clock = Stopwatch.StartNew();

        var result = await source.PollAsync(CancellationToken.None);

        clock.Stop();
        Assert.Equal("connection refused", result.Failure);
        Assert.Empty(result.Samples);
        // Far below the 14 s timeout: the refusal ended the poll, not the timeout, however busy the machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"the poll took {clock.Elapsed}");
        Assert.True(result.Duration < TimeSpan.FromSeconds(7), $"the poll reported {result.Duration}");
    }

    [Fact]
    public async Task PollAsync_ServerAcceptsButNeverAnswers_FailsWithTimeoutPromptly()
    {
        await using var silent = new RawTcpServer((_, ct) => Task.Delay(Timeout.Infinite, ct));
        await using var source = RedisConfigs.Create($"127.0.0.1:{silent.Url.Port}", "1s");
        var clock = Stopwatch.StartNew();

        var result = await source.PollAsync(CancellationToken.None);

        clock.Stop();
        Assert.Equal("timeout after 1s: the server accepted the connection, but the Redis handshake did not finish (is it Redis? does it want tls: true?)", result.Failure);
        Assert.Empty(result.Samples);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"the poll took only {clock.Elapsed}");
        // Below StackExchange.Redis's own 5 s connect timeout, with room for a busy CI machine's late timers.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_CallerCancelsWhileConnecting_ThrowsPromptly()
    {
        await using var silent = new RawTcpServer((_, ct) => Task.Delay(Timeout.Infinite, ct));
        await using var source = RedisConfigs.Create($"127.0.0.1:{silent.Url.Port}", "14s");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));

        // Far below the 14 s timeout: the cancel ended the poll, whatever a busy CI machine does to the 200 ms timer.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"cancelling took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_ServerRestartedBetweenPolls_IncreaseIsTheNewCounters()
    {
        using var server = new RedisServer();
        await server.LookUpAsync(hits: 5, misses: 5);
        await using var source = RedisConfigs.Create(server.Address, "2s");
        var first = await source.PollAsync(CancellationToken.None);

        server.Restart();
        await server.LookUpAsync(hits: 2, misses: 1);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(2, second.Value(RedisSourceKind.Hits));
        Assert.Equal(1, second.Value(RedisSourceKind.Misses));
        Assert.Equal(2.0 / 3, second.Value(RedisSourceKind.HitRatio));
    }

    [Fact]
    public async Task PollAsync_ServerDownThenUp_FailsThenReconnectsAndCountsFromTheLastSuccess()
    {
        using var server = new RedisServer();
        await using var source = RedisConfigs.Create(server.Address, "2s");
        await server.LookUpAsync(hits: 9, misses: 9);
        var first = await source.PollAsync(CancellationToken.None);

        server.Stop();
        var down = await source.PollAsync(CancellationToken.None);
        server.Start();
        await server.LookUpAsync(hits: 3, misses: 0);
        var up = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.Equal("connection refused", down.Failure);
        Assert.Empty(down.Samples);
        Assert.True(up.Success, up.Failure);
        Assert.Equal(3, up.Value(RedisSourceKind.Hits));
        Assert.Equal(0, up.Value(RedisSourceKind.Misses));
        Assert.Equal(1, up.Value(RedisSourceKind.HitRatio));
        Assert.Single(await server.ClientIdsAsync("roadmap"));
    }

    [Fact]
    public async Task PollAsync_ServerClosesEveryConnection_FailsSayingTheHandshakeFailed()
    {
        await using var closing = new RawTcpServer((_, _) => Task.CompletedTask);
        await using var source = RedisConfigs.Create($"127.0.0.1:{closing.Url.Port}", "2s");

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal("could not connect: the server accepted the connection, but the Redis handshake failed (is it Redis? does it want tls: true?)", result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_TlsAgainstAPlainServer_FailsWithTimeoutInTheHandshake()
    {
        using var server = new RedisServer();
        await using var source = RedisConfigs.Create(server.Address, "1s", "tls: true");

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal("timeout after 1s: the server accepted the connection, but the TLS or Redis handshake did not finish (does it speak TLS?)", result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_ServerNeverAnswersInfo_FailsWithTimeoutPromptly()
    {
        await using var fake = FakeRedis(info: null);
        await using var source = RedisConfigs.Create($"127.0.0.1:{fake.Url.Port}", "1s");
        var clock = Stopwatch.StartNew();

        var result = await source.PollAsync(CancellationToken.None);

        clock.Stop();
        Assert.Equal("timeout after 1s", result.Failure);
        // Below StackExchange.Redis's own 5 s default, with room for a busy two-core CI machine (the 1 s timer once
        // fired 2.2 s late there).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4.5), $"the poll took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("# Stats\r\ntotal_commands_processed:1\r\n", "INFO stats has no keyspace_hits")]
    [InlineData("# Stats\r\nkeyspace_hits:1\r\n", "INFO stats has no keyspace_misses")]
    [InlineData("# Stats\r\nkeyspace_hits:n/a\r\nkeyspace_misses:0\r\n", "INFO stats has a keyspace_hits that is not a count: \"n/a\"")]
    public async Task PollAsync_InfoWithoutUsableCounters_FailsNamingTheField(string stats, string expected)
    {
        await using var fake = FakeRedis(stats);
        await using var source = RedisConfigs.Create($"127.0.0.1:{fake.Url.Port}", "2s");

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal(expected, result.Failure);
        Assert.Empty(result.Samples);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Just enough of the Redis protocol for the client's handshake (PING, an empty INFO, errors for the rest) and an
    /// INFO stats that replies <paramref name="info"/> (what a Redis look-alike without keyspace counters would send),
    /// or never replies when it is null.
    /// </summary>
    private static RawTcpServer FakeRedis(string? info) => new(async (stream, ct) =>
    {
        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
        while (await reader.ReadLineAsync(ct) is { } header)
        {
            if (!header.StartsWith('*'))
            {
                continue;
            }

            var args = new List<string>();
            for (var i = int.Parse(header[1..]); i > 0; i--)
            {
                await reader.ReadLineAsync(ct); // $length
                args.Add(await reader.ReadLineAsync(ct) ?? "");
            }

            var reply = args[0].ToUpperInvariant() switch
            {
                "PING" => "+PONG\r\n",
                "INFO" when args.Count < 2 || !args[1].Equals("stats", StringComparison.OrdinalIgnoreCase) => "$0\r\n\r\n", // the handshake's
                "INFO" when info is null => "",
                "INFO" => $"${Encoding.ASCII.GetByteCount(info)}\r\n{info}\r\n",
                "QUIT" => "+OK\r\n",
                _ => $"-ERR unknown command '{args[0]}'\r\n",
            };
            await stream.WriteAsync(Encoding.ASCII.GetBytes(reply), ct);
        }
    });
}
