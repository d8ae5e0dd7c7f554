using Roadmap.Sources.Http;
using Roadmap.Sources.Sql;

namespace Roadmap.Sources;

/// <summary>Every source kind, registered here and nowhere else. Adding a kind: its folder, one line here, its tests, the docs.</summary>
public static class SourceKinds
{
    public static IReadOnlyList<ISourceKind> All { get; } =
    [
        new HttpSourceKind(),
        new SqlSourceKind(),
    ];

    public static ISourceKind Get(string kind) =>
        All.FirstOrDefault(k => k.Kind == kind) ?? throw new ArgumentException($"unknown source kind \"{kind}\"", nameof(kind));
}
