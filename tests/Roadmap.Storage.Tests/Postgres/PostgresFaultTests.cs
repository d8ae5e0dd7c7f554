using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Sources.Tests.Sql;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>
/// The real server stopped and started again under a running writer: polls wait in the queue while it is gone (the
/// writer says Unreachable, never quoting the secret), and once it is back everything queued is written exactly once,
/// through a pool that recovered by itself. A server of its own: the test stops it.
/// </summary>
public sealed class PostgresFaultTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static PollRecord Poll(int i) =>
        new("web", T0.AddSeconds(i).ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("up", i), new SignalSample("latency_seconds", i / 1000.0)]);

    [Fact]
    public async Task Writer_ServerStoppedAndStartedAgain_QueuesMeanwhileAndWritesEverythingOnceWhenItReturns()
    {
        using var backend = new PostgresTestBackend(server);
        var db = backend.Open();
        var options = new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(50), RetryDelay = TimeSpan.FromMilliseconds(50), MaxRetryDelay = TimeSpan.FromMilliseconds(500) };
        await using var writer = new BatchedWriter(db, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        for (var i = 0; i < 100; i++)
        {
            writer.TryEnqueue(Poll(i));
        }

        await writer.FlushAsync();
        Assert.Equal(100, db.Samples.CountPolls("web")); // the pool holds live connections now

        await server.StopAsync();
        for (var i = 100; i < 250; i++)
        {
            Assert.True(writer.TryEnqueue(Poll(i)));
        }

        var flush = writer.FlushAsync();
        for (var waited = 0; writer.Health == StorageHealth.Ok && waited < 3000; waited++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(StorageHealth.Unreachable, writer.Health);
        Assert.DoesNotContain(PostgresServer.Password, writer.LastError, StringComparison.Ordinal);
        var read = Assert.Throws<StorageException>(() => db.Samples.CountPolls("web"));
        Assert.Equal(StorageHealth.Unreachable, read.Health);
        Assert.False(flush.IsCompleted);

        await server.StartAsync();
        await flush.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Null(writer.LastError);
        Assert.True(writer.WriteFailures > 0);
        Assert.Equal(0, writer.PollsDropped);
        Assert.Equal(250, db.Samples.CountPolls("web"));
        var up = db.Samples.Read("web", "up", T0, T0.AddHours(1));
        Assert.Equal(Enumerable.Range(0, 250).Select(i => (double)i), up.Select(p => p.Value));
        Assert.Equal(500, backend.Count("samples"));
        Assert.Equal(250, db.Samples.Summarize("web", "up", T0.AddHours(-12), T0.AddHours(12)).Count);
    }
}
