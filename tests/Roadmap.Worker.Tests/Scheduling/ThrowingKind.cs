using Roadmap.Core.Config;
using Roadmap.Sources;

namespace Roadmap.Worker.Tests.Scheduling;

/// <summary>
/// kind: throwing — a source kind with a bug: its polls throw (<c>throws: sync</c> before returning a task,
/// <c>throws: async</c> from the task), breaking <see cref="ISource"/>'s "only cancellation escapes" promise.
/// The exception's message quotes the source's <c>token</c>, a secret, as a careless kind might. Its warm-up throws
/// too: a kind's warm-up must not stop the service's start or <c>check</c> either.
/// </summary>
internal sealed class ThrowingKind : ISourceKind
{
    public string Kind => "throwing";

    public object Bind(ConfigSection section) =>
        new Options(section.OneOf("throws", ["sync", "async"]) ?? "async", section.Secret("token") ?? "");

    public IReadOnlyList<string> Signals(object options) => ["value"];

    public ISource Create(SourceConfig config, SourceContext context) => new Throwing(config);

    public ValueTask WarmUpAsync(SourceContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("warm-up bug");

    private sealed record Options(string Throws, string Token);

    private sealed class Throwing(SourceConfig config) : ISource
    {
        public SourceConfig Config => config;

        public ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
        {
            var options = (Options)config.Options;
            return options.Throws == "sync"
                ? throw new NotSupportedException($"sync bug\nwith token {options.Token}")
                : ThrowLaterAsync(options.Token);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static async ValueTask<PollResult> ThrowLaterAsync(string token)
        {
            await Task.Yield();
            throw new InvalidOperationException($"async bug with token {token}");
        }
    }
}
