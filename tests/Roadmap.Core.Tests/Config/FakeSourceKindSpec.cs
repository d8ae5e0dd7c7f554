using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>The options <see cref="FakeSourceKindSpec"/> binds: only a URL.</summary>
public sealed record FakeSourceOptions(Uri? Url);

/// <summary>A source kind for loader tests: kind "fake", one required <c>url</c>, signals up and latency_seconds.</summary>
public sealed class FakeSourceKindSpec : ISourceKindSpec
{
    public string Kind => "fake";

    public object Bind(ConfigSection section) => new FakeSourceOptions(section.Url("url", required: true));

    public IReadOnlyList<string> Signals(object options) => ["up", "latency_seconds"];
}
