using System.Text.RegularExpressions;

namespace Roadmap.Worker.Tests;

/// <summary>
/// The rooms of Roadmap.Worker (its namespaces <c>Roadmap.Worker.X</c>) open one way, down the layers that
/// docs/ARCHITECTURE.md declares. A room's dependencies are read from its source files: its
/// <c>using Roadmap.Worker.Y;</c> lines and any fully qualified <c>Roadmap.Worker.Y.</c> reference (a type of another
/// room cannot be named otherwise; an unused using is an error of the build anyway).
/// </summary>
public sealed partial class ArchitectureTests
{
    /// <summary>
    /// The layers, lowest first: a room may use rooms of lower layers only. The same table as docs/ARCHITECTURE.md
    /// ("The rooms inside Roadmap.Worker").
    /// </summary>
    private static readonly string[][] Layers =
    [
        ["Configuration", "Events", "Telemetry"],
        ["Exporting"],
        ["Evaluation"],
        ["Cluster"],
        ["Reporting", "Scheduling"],
        ["Endpoints", "Updates"],
        ["Hosting"],
        ["Cli"],
    ];

    [Fact]
    public void Rooms_DependencyGraph_HasNoCycle()
    {
        var graph = Graph();
        var cycle = FindCycle(graph);
        Assert.True(cycle is null, $"namespace cycle in Roadmap.Worker: {string.Join(" -> ", cycle ?? [])}\n{Describe(graph)}");
    }

    [Fact]
    public void Rooms_EveryDependency_PointsToALowerLayer()
    {
        var layer = Layers.SelectMany((rooms, i) => rooms.Select(r => (r, i))).ToDictionary(p => p.r, p => p.i, StringComparer.Ordinal);
        var graph = Graph();
        var undeclared = graph.Keys.Concat(graph.Values.SelectMany(v => v)).Where(r => !layer.ContainsKey(r)).Distinct().ToList();
        Assert.True(undeclared.Count == 0, $"rooms not in the declared layers (add them to docs/ARCHITECTURE.md and here): {string.Join(", ", undeclared)}");
        var upward = graph.SelectMany(e => e.Value.Where(to => layer[to] >= layer[e.Key]).Select(to => $"{e.Key} -> {to}")).ToList();
        Assert.True(upward.Count == 0, $"dependencies against the layering: {string.Join("; ", upward)}\n{Describe(graph)}");
    }

    /// <summary>Room → the other rooms its source files refer to.</summary>
    private static SortedDictionary<string, SortedSet<string>> Graph()
    {
        var src = Path.Combine(Repository.Root(), "src", "Roadmap.Worker");
        var graph = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(src, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            if (NamespaceLine().Match(text) is not { Success: true } ns)
            {
                continue; // Program.cs: top-level statements, the entry point above every room.
            }

            var room = ns.Groups[1].Value;
            var deps = graph.TryGetValue(room, out var d) ? d : graph[room] = new SortedSet<string>(StringComparer.Ordinal);
            foreach (Match m in Reference().Matches(text))
            {
                if (m.Groups[1].Value != room)
                {
                    deps.Add(m.Groups[1].Value);
                }
            }
        }

        return graph;
    }

    private static List<string>? FindCycle(SortedDictionary<string, SortedSet<string>> graph)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1: on the path, 2: done
        var path = new List<string>();

        List<string>? Visit(string room)
        {
            state[room] = 1;
            path.Add(room);
            foreach (var next in graph.TryGetValue(room, out var deps) ? deps : [])
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return [.. path.Skip(path.IndexOf(next)), next];
                }

                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[room] = 2;
            return null;
        }

        return graph.Keys.Where(r => state.GetValueOrDefault(r) == 0).Select(Visit).FirstOrDefault(c => c is not null);
    }

    private static string Describe(SortedDictionary<string, SortedSet<string>> graph) =>
        string.Join("\n", graph.Select(e => $"  {e.Key} -> {string.Join(", ", e.Value)}"));

    [GeneratedRegex(@"^namespace Roadmap\.Worker\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"\bRoadmap\.Worker\.([A-Z]\w*)\b")]
    private static partial Regex Reference();
}
