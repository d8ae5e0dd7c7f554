using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace Roadmap.Core.Config;

/// <summary>
/// Recognises the YAML slips a roadmap file is most often written with, behind a syntax error whose own words
/// ("While scanning a block scalar, did not find expected comment or line break") do not say what to change: an
/// unquoted value starting with <c>&gt;</c> or <c>|</c> (a target such as <c>&gt;= 90%</c>), a value holding
/// <c>": "</c>, a value starting with a character YAML reserves, a tab in the indentation, and a key indented less or
/// more than the keys beside it. Each becomes the place to fix and what to type. Works on the text alone, after the
/// parser gave up, so it costs nothing for a valid file.
/// </summary>
internal static partial class YamlTraps
{
    /// <summary>The slip behind a YAML syntax error, or null when it is none of the known ones.</summary>
    /// <param name="yaml">The whole file.</param>
    /// <param name="at">Where the parser stopped (1-based line and column).</param>
    /// <param name="parserMessage">The parser's own message.</param>
    public static (Mark At, string Message)? Explain(string yaml, Mark at, string parserMessage)
    {
        // Lines as the parser counts them (\r\n, \r, \n, NEL, LS, PS), so a line number is the parser's.
        var lines = LineBreak().Split(yaml);
        if (parserMessage.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstTabIndent(lines) is { } tab)
        {
            return (tab, "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces");
        }

        var index = (int)at.Line - 1;
        if (index < 0 || index >= lines.Length)
        {
            return null;
        }

        var line = lines[index];
        var entry = KeyValue().Match(line);
        if (parserMessage.Contains("block scalar", StringComparison.Ordinal) && entry.Success && entry.Groups["value"].Value is ['>' or '|', ..])
        {
            // `key: >` or `key: |-` on its own starts a block of text on the lines below; anything but a comment after
            // it (`>= 90%`) is what the parser stumbled on.
            var value = entry.Groups["value"];
            return (new Mark(0, at.Line, value.Index + 1), $"YAML reads a value starting with \"{value.Value[0]}\" as the start of a block of text: quote the {entry.Groups["key"].Value}: {Quoted(value.Value)}");
        }

        if (parserMessage.Contains("cannot start any token", StringComparison.Ordinal) && entry.Success && entry.Groups["value"].Value is ['@' or '`' or '%', ..])
        {
            var value = entry.Groups["value"];
            return (new Mark(0, at.Line, value.Index + 1), $"YAML reserves \"{value.Value[0]}\" at the start of a value: quote the {entry.Groups["key"].Value}: {Quoted(value.Value)}");
        }

        if (parserMessage.Contains("invalid mapping", StringComparison.Ordinal))
        {
            if (entry.Success && entry.Groups["value"].Value.Contains(": ", StringComparison.Ordinal))
            {
                var value = entry.Groups["value"];
                return (new Mark(0, at.Line, value.Index + 1), $"a value holding \": \" reads as another key: quote the {entry.Groups["key"].Value}: {Quoted(value.Value)}");
            }

            // `kind: http` then `      url: x` indented deeper: YAML reads "http url" as one value, then stops at the ":".
            if (KeyAbove(lines, index) is { } above && entry.Success && KeyColumn(entry) > above.Column)
            {
                return (new Mark(0, at.Line, KeyColumn(entry)), $"\"{entry.Groups["key"].Value}\" is indented {Spaces(KeyColumn(entry) - 1)}, deeper than \"{above.Key}\" on line {above.Line} ({above.Column - 1}), so YAML reads it as part of that value: indent it {Spaces(above.Column - 1)} to sit beside \"{above.Key}\"");
            }
        }

        if (parserMessage.Contains("did not find expected key", StringComparison.Ordinal) || parserMessage.Contains("did not find expected '-'", StringComparison.Ordinal))
        {
            if (entry.Success && KeyAbove(lines, index) is { } above && KeyColumn(entry) < above.Column)
            {
                return (new Mark(0, at.Line, KeyColumn(entry)), $"\"{entry.Groups["key"].Value}\" is indented {Spaces(KeyColumn(entry) - 1)}, less than \"{above.Key}\" on line {above.Line} ({above.Column - 1}) and in line with no key above: keys of one mapping start in the same column; indent it {Spaces(above.Column - 1)} to sit beside \"{above.Key}\"");
            }
        }

        return null;
    }

    /// <summary>The value in double quotes, as YAML reads it back: a trailing comment left out, \ and " escaped.</summary>
    private static string Quoted(string value)
    {
        var comment = value.IndexOf(" #", StringComparison.Ordinal);
        var text = (comment >= 0 ? value[..comment] : value).Trim();
        return "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    private static string Spaces(int n) => n == 1 ? "1 space" : $"{n} spaces";

    /// <summary>The 1-based column of the entry's key.</summary>
    private static int KeyColumn(Match entry) => entry.Groups["key"].Index + 1;

    /// <summary>The nearest key above the line (blank and comment lines skipped): its name, line and column.</summary>
    private static (string Key, int Line, int Column)? KeyAbove(string[] lines, int index)
    {
        for (var i = index - 1; i >= 0; i--)
        {
            if (lines[i].TrimStart().Length == 0 || lines[i].TrimStart().StartsWith('#'))
            {
                continue;
            }

            var above = KeyValue().Match(lines[i]);
            return above.Success ? (above.Groups["key"].Value, i + 1, KeyColumn(above)) : null;
        }

        return null;
    }

    private static Mark? FirstTabIndent(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].AsSpan(0, indent).IndexOf('\t');
            if (tab >= 0)
            {
                return new Mark(0, i + 1, tab + 1);
            }
        }

        return null;
    }

    [GeneratedRegex("\r\n|[\r\n\u0085\u2028\u2029]")]
    private static partial Regex LineBreak();

    /// <summary><c>key: value</c>, also as a list item (<c>- key: value</c>); the value may be empty.</summary>
    [GeneratedRegex(@"^\s*(?:-\s+)*(?<key>[A-Za-z_$][\w.$-]*):(?:\s+(?<value>\S.*?))?\s*$")]
    private static partial Regex KeyValue();
}
