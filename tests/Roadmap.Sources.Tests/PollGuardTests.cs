using Microsoft.Extensions.Logging;

namespace Roadmap.Sources.Tests;

public sealed class PollGuardTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingLogger _log = new();

    private static SourceConfig Config(string id, params string[] secrets) =>
        new(id, "buggy", new PollSchedule(TimeSpan.FromSeconds(15), null), TimeSpan.FromSeconds(5), new object(), ["value"], secrets);

    [Fact]
    public async Task PollAsync_ThrowsSynchronously_FailedPollWithRedactedOneLineReason()
    {
        var source = new Buggy(Config("a", "hunter22"), _ => throw new NotSupportedException("bad\r\nthing hunter22"));

        var result = await new PollGuard(_time, _log).PollAsync(source, CancellationToken.None);

        Assert.Equal("internal error: NotSupportedException: bad  thing ***", result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_ThrowsFromTheTask_FailedPoll()
    {
        var source = new Buggy(Config("a"), async _ =>
        {
            await Task.Yield();
            throw new FormatException(new string('x', 1000));
        });

        var result = await new PollGuard(_time, _log).PollAsync(source, CancellationToken.None);

        Assert.Equal($"internal error: FormatException: {new string('x', PollGuard.MaxMessageChars)}…", result.Failure);
    }

    [Fact]
    public async Task PollAsync_NoResult_FailedPoll()
    {
        var source = new Buggy(Config("a"), _ => default);

        var result = await new PollGuard(_time, _log).PollAsync(source, CancellationToken.None);

        Assert.Equal("internal error: the source returned no result", result.Failure);
    }

    [Fact]
    public async Task PollAsync_FailureQuotesASecret_Redacted()
    {
        var source = new Buggy(Config("a", "hunter22"), _ => ValueTask.FromResult(PollResult.Failed("HTTP 401: token hunter22 refused", TimeSpan.Zero)));

        var result = await new PollGuard(_time, _log).PollAsync(source, CancellationToken.None);

        Assert.Equal("HTTP 401: token *** refused", result.Failure);
        Assert.Empty(_log.Entries);
    }

    [Fact]
    public async Task PollAsync_CallerCancels_CancellationEscapes()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        var source = new Buggy(Config("a"), ct => ValueTask.FromException<PollResult>(new OperationCanceledException(ct)));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new PollGuard(_time, _log).PollAsync(source, cancel.Token).AsTask());
    }

    [Fact]
    public async Task PollAsync_CancelledWithoutTheCallerCancelling_FailedPoll()
    {
        var source = new Buggy(Config("a"), _ => ValueTask.FromException<PollResult>(new TaskCanceledException("inner timeout")));

        var result = await new PollGuard(_time, _log).PollAsync(source, CancellationToken.None);

        Assert.Equal("internal error: TaskCanceledException: inner timeout", result.Failure);
    }

    [Fact]
    public async Task PollAsync_ThrowsOnEveryPoll_LoggedWithStackOncePerIntervalPerSourceWithTheSuppressedCount()
    {
        var guard = new PollGuard(_time, _log) { LogEvery = TimeSpan.FromMinutes(10) };
        var a = new Buggy(Config("a", "hunter22"), _ => throw new InvalidOperationException("boom hunter22"));
        var b = new Buggy(Config("b"), _ => throw new InvalidOperationException("boom"));

        await guard.PollAsync(a, CancellationToken.None);
        await guard.PollAsync(b, CancellationToken.None);
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            await guard.PollAsync(a, CancellationToken.None);
        }

        Assert.Equal(2, _log.Entries.Count);
        _time.Advance(TimeSpan.FromMinutes(5));
        await guard.PollAsync(a, CancellationToken.None);

        Assert.Equal(3, _log.Entries.Count);
        Assert.All(_log.Entries, e => Assert.Equal(LogLevel.Error, e.Level));
        Assert.Contains("Poll of source a ", _log.Entries[0].Message, StringComparison.Ordinal);
        Assert.Contains("Poll of source b ", _log.Entries[1].Message, StringComparison.Ordinal);
        // The stack is logged, and the secret in the exception's message is not.
        Assert.Contains("at Roadmap.Sources.Tests.PollGuardTests", _log.Entries[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter22", string.Concat(_log.Entries.Select(e => e.Message)), StringComparison.Ordinal);
        Assert.Contains(" 0 more of this source were not logged", _log.Entries[0].Message, StringComparison.Ordinal);
        Assert.Contains(" 5 more of this source were not logged", _log.Entries[2].Message, StringComparison.Ordinal);
    }

    /// <summary>A source with a bug: its poll is whatever the test says, throwing included.</summary>
    private sealed class Buggy(SourceConfig config, Func<CancellationToken, ValueTask<PollResult>> poll) : ISource
    {
        public SourceConfig Config => config;

        public ValueTask<PollResult> PollAsync(CancellationToken cancellationToken) => poll(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception) + exception));
            }
        }
    }
}
