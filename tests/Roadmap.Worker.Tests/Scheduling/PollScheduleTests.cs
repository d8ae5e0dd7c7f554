using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Scheduling;

/// <summary>A source kind whose polls take longer than its interval, counting how many run at once.</summary>
internal sealed class SlowKind(TimeSpan pollTime) : ISourceKind
{
    private readonly TimeSpan _pollTime = pollTime;
    private int _running;
    private int _maxRunning;
    private int _polls;

    public string Kind => "slow";

    public int MaxRunning => Volatile.Read(ref _maxRunning);

    public int Polls => Volatile.Read(ref _polls);

    public object Bind(ConfigSection section) => new();

    public IReadOnlyList<string> Signals(object options) => ["value"];

    public ISource Create(SourceConfig config, SourceContext context) => new Slow(config, this);

    private sealed class Slow(SourceConfig config, SlowKind kind) : ISource
    {
        public SourceConfig Config => config;

        public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref kind._running);
            InterlockedMax(ref kind._maxRunning, now);
            try
            {
                await Task.Delay(kind._pollTime, cancellationToken);
                Interlocked.Increment(ref kind._polls);
                return PollResult.Ok([new Sample("value", 1)], kind._pollTime);
            }
            finally
            {
                Interlocked.Decrement(ref kind._running);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}

public sealed class PollScheduleTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Schedule_PollSlowerThanItsInterval_NeverOverlapsAndMissedTicksDoNotPileUp()
    {
        // Polls take 700 ms on a 100 ms schedule: a scheduler that overlapped would run ~7 at once, and one that
        // replayed missed ticks would run a burst after each poll. Neither may happen.
        var kind = new SlowKind(TimeSpan.FromMilliseconds(700));
        var kinds = new List<ISourceKind>(SourceKinds.All) { kind };
        var loaded = new ConfigLoader(kinds).Load(
            """
            roadmap: { name: Slow }
            settings: { evaluateEvery: 1h }
            sources:
              - { id: slow, kind: slow, every: 100ms, timeout: 50ms }
            """,
            "slow.yaml");
        Assert.Empty(loaded.Errors);
        var database = RoadmapDatabase.Open(_dir.File("roadmap.db"));
        await using var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0" }, loaded.Config!, database, kinds: kinds);

        // Polls can start while the rest of the host is still starting, and until the scheduler stops: bound the count
        // by the whole span the scheduler ran, not just the 3 s in between.
        var started = TimeProvider.System.GetTimestamp();
        await app.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await app.StopAsync();
        var span = TimeProvider.System.GetElapsedTime(started);

        Assert.Equal(1, kind.MaxRunning);
        // Back to back, N ms of 700 ms polls is at most N / 700 whole ones and the one in flight at stop; a scheduler
        // that replayed missed ticks would run several more.
        Assert.InRange(kind.Polls, 3, (int)(span.TotalMilliseconds / 700) + 1);
        var metrics = app.Services.GetRequiredService<RoadmapMetrics>();
        Assert.Equal(kind.Polls, metrics.PollCount);
        Assert.Equal(kind.Polls, database.Samples.CountPolls("slow"));

        // The ticks that came while a poll ran were skipped and counted: about six per 700 ms poll on this grid. Polled
        // and skipped together are at most the grid's ticks in the span (and the start poll).
        using var stream = new MemoryStream();
        await metrics.ExportAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var skipped = Regex.Match(text, "^roadmap_source_ticks_skipped_total{source=\"slow\",kind=\"slow\"} ([0-9]+)$", RegexOptions.Multiline);
        Assert.True(skipped.Success, "no roadmap_source_ticks_skipped_total series for the slow source");
        var skippedTicks = int.Parse(skipped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(skippedTicks, 3 * kind.Polls, (int)(span.TotalMilliseconds / 100) + 2 - kind.Polls);
    }

    [Fact]
    public async Task Schedule_SourceThrows_FailedPollCountedAndStoredWithARedactedReason()
    {
        // Before the poll boundary, the exception went to Quartz: nothing counted, nothing stored, no up gauge at all.
        List<ISourceKind> kinds = [.. SourceKinds.All, new ThrowingKind()];
        var loaded = new ConfigLoader(kinds).Load(
            """
            roadmap: { name: Throwing }
            settings: { evaluateEvery: 1h }
            sources:
              - { id: sync, kind: throwing, throws: sync, token: s3cr3t-token-1, every: 100ms, timeout: 50ms }
              - { id: async, kind: throwing, throws: async, token: s3cr3t-token-2, every: 100ms, timeout: 50ms }
            """,
            "throwing.yaml");
        Assert.Empty(loaded.Errors);
        var database = RoadmapDatabase.Open(_dir.File("roadmap.db"));
        await using var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0" }, loaded.Config!, database, kinds: kinds);
        var metrics = app.Services.GetRequiredService<RoadmapMetrics>();

        await app.StartAsync();
        // Both sources poll every 100 ms: a few polls each come in well under a second; 30 s only bounds a failure.
        var started = TimeProvider.System.GetTimestamp();
        while (metrics.PollCount < 6 && TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        await app.StopAsync();

        Assert.True(metrics.PollCount >= 6, $"{metrics.PollCount} polls recorded");
        using var stream = new MemoryStream();
        await metrics.ExportAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var reader = database.Samples;
        foreach (var (id, reason) in new[]
        {
            ("sync", "internal error: NotSupportedException: sync bug with token ***"),
            ("async", "internal error: InvalidOperationException: async bug with token ***"),
        })
        {
            Assert.Matches(new Regex($"^roadmap_source_up{{source=\"{id}\",kind=\"throwing\"}} 0$", RegexOptions.Multiline), text);
            Assert.Matches(new Regex($"^roadmap_source_polls_total{{source=\"{id}\",kind=\"throwing\",outcome=\"failure\"}} [1-9]", RegexOptions.Multiline), text);
            Assert.DoesNotMatch(new Regex($"^roadmap_source_polls_total{{source=\"{id}\",kind=\"throwing\",outcome=\"success\"}} [1-9]", RegexOptions.Multiline), text);
            var polls = reader.Polls(id, DateTimeOffset.UnixEpoch, DateTimeOffset.UtcNow.AddDays(1));
            Assert.NotEmpty(polls);
            Assert.All(polls, p => Assert.Equal(("failure", reason), (p.Outcome, p.Reason)));
        }

        Assert.DoesNotContain("s3cr3t", text, StringComparison.Ordinal);
    }
}
