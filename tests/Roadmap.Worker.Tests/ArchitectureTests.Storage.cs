using System.Text.RegularExpressions;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests;

/// <summary>
/// The storage seam: a database driver is named only inside its backend's namespace (and inside the sql source kind,
/// which queries users' databases), so the worker and the shared storage code reach a store through the
/// Roadmap.Storage interfaces alone and a second backend is one folder beside the first.
/// </summary>
public sealed partial class ArchitectureTests
{
    /// <summary>Each driver: what names it in source, and the namespaces allowed to (their sub-namespaces too).</summary>
    private static readonly (string Driver, Regex Names, string[] Allowed)[] Drivers =
    [
        ("Microsoft.Data.Sqlite / SQLitePCL", SqliteNames(), ["Roadmap.Storage.Sqlite", "Roadmap.Sources.Sql"]),
        ("Npgsql", NpgsqlNames(), ["Roadmap.Storage.Postgres", "Roadmap.Sources.Sql"]),
    ];

    [Fact]
    public void Storage_DatabaseDrivers_AreNamedOnlyInTheirBackendNamespace()
    {
        var src = Path.Combine(Repository.Root(), "src");
        var misplaced = new List<string>();
        var scanned = 0;
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(src, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }

            scanned++;
            // Code only: a comment may say which driver a backend uses without depending on it.
            var text = string.Join('\n', File.ReadLines(file).Where(line => !line.TrimStart().StartsWith("//", StringComparison.Ordinal)));
            var ns = AnyNamespaceLine().Match(text) is { Success: true } m ? m.Groups[1].Value : "(none)";
            foreach (var (driver, names, allowed) in Drivers)
            {
                if (allowed.Any(a => ns == a || ns.StartsWith(a + ".", StringComparison.Ordinal)))
                {
                    continue;
                }

                var hits = names.Matches(text).Select(h => h.Value).Distinct().ToList();
                if (hits.Count > 0)
                {
                    misplaced.Add($"{relative} (namespace {ns}) names {driver}: {string.Join(", ", hits)}");
                }
            }
        }

        Assert.True(scanned > 100, $"only {scanned} source files found under {src}");
        Assert.True(misplaced.Count == 0, $"database driver types outside their backend:\n{string.Join("\n", misplaced)}");
    }

    [Fact]
    public void Worker_Assembly_ReferencesNoDatabaseDriver()
    {
        // The compiler references an assembly only when code names one of its types: a catch clause or a parameter
        // of a driver type anywhere in the worker puts the driver here.
        var referenced = typeof(RoadmapApp).Assembly.GetReferencedAssemblies().Select(a => a.Name ?? "").ToList();

        Assert.Contains("Roadmap.Storage", referenced);
        Assert.DoesNotContain(referenced, name =>
            name.StartsWith("Microsoft.Data.Sqlite", StringComparison.Ordinal)
            || name.StartsWith("SQLitePCLRaw", StringComparison.Ordinal)
            || name.StartsWith("Npgsql", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^namespace ([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex AnyNamespaceLine();

    /// <summary>The driver's namespaces, and its types (SqliteConnection, SqliteException, ...; SQLitePCL's sqlite3 handles).</summary>
    [GeneratedRegex(@"Microsoft\.Data\.Sqlite|SQLitePCL|\bSqlite(?:Connection|Command|Exception|Transaction|DataReader|Parameter|Type|OpenMode|CacheMode|ConnectionStringBuilder|Factory|Blob)\w*|\bsqlite3(?:_stmt)?\b")]
    private static partial Regex SqliteNames();

    [GeneratedRegex(@"\bNpgsql\w*")]
    private static partial Regex NpgsqlNames();
}
