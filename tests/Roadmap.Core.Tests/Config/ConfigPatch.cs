namespace Roadmap.Core.Tests.Config;

/// <summary>
/// A minimal valid config and small patches of it, so a config-error test shows only what is wrong. A patch marks
/// where the error must point with <see cref="Marker"/>; <see cref="Marked"/> takes the marker out and says its
/// line and column, so a test's expected position follows the key, not a count of the base's lines.
/// </summary>
internal static class ConfigPatch
{
    /// <summary>Where the error must point; never part of a valid config here.</summary>
    public const char Marker = '^';

    /// <summary>One source (fake, two signals) and one initiative with one KPI on it: valid, with no warnings.</summary>
    public const string Minimal = """
        roadmap:
          name: Shop
        sources:
          - id: web
            kind: fake
            url: http://127.0.0.1/
        initiatives:
          - id: a
            name: A
            kpis:
              - id: uptime
                source: web
                signal: up
                window: 1h
                target: ">= 0.99"
        """;

    /// <summary>Replaces the one line whose trimmed text is <paramref name="line"/> with <paramref name="replacement"/>'s lines, each at that line's indent.</summary>
    public static string Patch(this string yaml, string line, string replacement) => Splice(yaml, line, replacement, keep: false);

    /// <summary>Adds <paramref name="added"/>'s lines after the one line whose trimmed text is <paramref name="line"/>, at its indent.</summary>
    public static string Insert(this string yaml, string line, string added) => Splice(yaml, line, added, keep: true);

    /// <summary>Removes the one line whose trimmed text is <paramref name="line"/>.</summary>
    public static string Remove(this string yaml, string line) => Splice(yaml, line, null, keep: false);

    /// <summary>Adds <paramref name="lines"/> at the end, as written (top-level keys, or items of the last list).</summary>
    public static string Append(this string yaml, string lines) => yaml + "\n" + lines;

    /// <summary>The config without its marker, and the marker's 1-based "LINE:COL".</summary>
    public static (string Yaml, string At) Marked(string yaml)
    {
        var index = yaml.IndexOf(Marker, StringComparison.Ordinal);
        Assert.True(index >= 0 && yaml.IndexOf(Marker, index + 1) < 0, "a patched config needs exactly one marker");
        var before = yaml[..index];
        var line = before.Count(c => c == '\n') + 1;
        var column = index - (before.LastIndexOf('\n') + 1) + 1;
        return (yaml.Remove(index, 1), $"{line}:{column}");
    }

    private static string Splice(string yaml, string line, string? text, bool keep)
    {
        var lines = yaml.Split('\n').ToList();
        var at = lines.FindIndex(l => l.Trim() == line);
        Assert.True(at >= 0 && lines.FindLastIndex(l => l.Trim() == line) == at, $"the config needs exactly one line \"{line}\"");
        var indent = lines[at][..(lines[at].Length - lines[at].TrimStart().Length)];
        var added = text is null ? [] : text.Split('\n').Select(l => indent + l).ToList();
        if (!keep)
        {
            lines.RemoveAt(at);
            at--;
        }

        lines.InsertRange(at + 1, added);
        return string.Join('\n', lines);
    }
}
