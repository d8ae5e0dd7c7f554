using Roadmap.Sources;

namespace Roadmap.Worker.Scheduling;

/// <summary>The source kinds this host runs: <see cref="SourceKinds.All"/>, or others a test supplies.</summary>
public sealed class SourceKindRegistry(IReadOnlyList<ISourceKind> kinds)
{
    public IReadOnlyList<ISourceKind> All => kinds;

    public ISourceKind Get(string kind) =>
        kinds.FirstOrDefault(k => k.Kind == kind) ?? throw new ArgumentException($"unknown source kind \"{kind}\"", nameof(kind));
}
