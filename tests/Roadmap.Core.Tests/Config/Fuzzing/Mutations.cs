using System.Globalization;
using System.Text;

namespace Roadmap.Core.Tests.Config.Fuzzing;

/// <summary>
/// Text mutations for fuzzing: byte flips, line deletes, duplicates and swaps, indentation changes, scalars replaced
/// by hostile tokens, deep nesting, truncation. Each draws only from the <see cref="Random"/> it is given, so a case
/// is reproduced by its seed.
/// </summary>
/// <remarks>This file is compiled into Roadmap.Sources.Tests too (a linked file).</remarks>
internal static class Mutations
{
    /// <summary>Scalars that have broken parsers: odd numbers, YAML specials, unicode, variables, tags, anchors.</summary>
    public static readonly string[] Tokens =
    [
        "0", "-1", "1", "1.5", ".5", "-0", "1e308", "1e309", "-1e309", "99999999999999999999999999999", "9223372036854775808",
        "0x1F", "0o17", "1_000", "NaN", "nan", ".nan", ".inf", "-.inf", "Infinity", "~", "null", "true", "yes", "no", "on",
        "\"\"", "''", "\" \"", "\t", "a\tb", "ü", "日本語", "\u200b", "\u202e", "😀", "\\u0000", "\"\\0\"", "\"\\x00\"", "\"\\uD800\"",
        "${VAR}", "${UNSET}", "${", "${}", "${1X}", "${VAR}${VAR}", "$${VAR}", "${EMPTY}", "${NEWLINE}", "${LONG}", "x${VAR}y",
        "&a", "&a x", "*a", "*b", "*undefined", "&a [*a]", "&a {k: *a}", "<<: *a", "!!str 5", "!!int x", "!!float y", "!!binary AAA=",
        "!!map", "!!seq", "!!null", "!custom x", "!<tag:yaml.org,2002:str> x", "|", ">", "|-", ">+", "- ", "? ", ":", ": :", "#",
        "{", "[", "}", "]", "{}", "[]", "[1, 2", "{a: 1", "'", "\"", "'unterminated", "\"unterminated", "%YAML 1.2", "---", "...",
        "0s", "0ms", "1ms", "0.5ms", "1.5ms", "1e3s", "15", "15x", "1h30", "999999999999w", "29000w", "1w1w", "5s5s", "-5s", "1.s",
        "1..5s", "10000000000000000d", "0000000000001s",
        "2027-02-30", "2027-13-01", "0001-01-01", "9999-12-31", "2027-1-1", "2027-01-01T00:00:00Z", "2027-Q1", "9999-Q4", "9999Q4",
        "Q4 9999", "0000-Q1", "1899-Q4", "1900-Q1", "2027-Q5", "2027-Q0",
        "\">= 99.9%\"", "\"<= baseline - 20%\"", "\">= 1e400%\"", "\"<= baseline - 1e400\"", "\"== -0\"", "\"> .5\"", "\"<= baseline + 1e308%\"",
        "\"0 0/5 * * * ?\"", "\"0 0 25 * * ?\"", "\"* * * * *\"", "\"* * * * * ? 2099\"", "\"0 0 0 ? * MON#6\"", "\"0 0 0 L-40 * ?\"",
        "\"0 0 0 31 2 ?\"", "\"0/0 * * * * ?\"", "\"0 0 0 ? * * 1970\"", "\"0 0 0 1 1 ? 2200\"", "\"0 0 0 LW * ?\"", "\"0 0 0 15W * ?\"",
        "\"0 0 0 ? * 7L\"", "\"59 59 23 31 12 ? 2099\"", "\"\"",
        "http://", "http://[::1", "https://x:99999/", "ftp://x/", "http://user:pw@host/", "http://\u00e9.example/", "http://a b/",
        "127.0.0.1:6379", "[::1]:6379", "host:0", "host:65536", "host:-1", ":6379", "[::1", "host:port", "10.0.0.0/8", "::/0",
        "$", "$.a", "$..a", "$[*]", "$['a']", "$[\"a\"]", "$[-1]", "$[99999999999]", "$.a[0].b", "$[", "$.", "$['", "$[1:2]", "$[?(@.a)]",
    ];

    private const string Syntax = "{}[]:,#&*!|>'\"%@`-?$\\";

    /// <summary>Applies 1 to 4 random mutations to <paramref name="seed"/>.</summary>
    public static string Mutate(Random rng, string seed, string[]? extraTokens = null)
    {
        var text = seed;
        var count = 1 + rng.Next(4);
        for (var i = 0; i < count; i++)
        {
            text = MutateOnce(rng, text, extraTokens);
        }

        return text;
    }

    public static string MutateOnce(Random rng, string text, string[]? extraTokens = null)
    {
        var lines = text.Split('\n').ToList();
        switch (rng.Next(13))
        {
            case 0:
                return FlipChar(rng, text);
            case 1:
                if (lines.Count > 1)
                {
                    lines.RemoveAt(rng.Next(lines.Count));
                }

                return string.Join('\n', lines);
            case 2:
                var d = rng.Next(lines.Count);
                lines.Insert(d, lines[d]);
                return string.Join('\n', lines);
            case 3:
                var a = rng.Next(lines.Count);
                var b = rng.Next(lines.Count);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                return string.Join('\n', lines);
            case 4:
                var l = rng.Next(lines.Count);
                lines[l] = Reindent(rng, lines[l]);
                return string.Join('\n', lines);
            case 5:
            case 6:
            case 7:
                return ReplaceScalar(rng, lines, Token(rng, extraTokens));
            case 8:
                return text.Length == 0 ? text : text[..rng.Next(text.Length)];
            case 9:
                var at = rng.Next(text.Length + 1);
                return text[..at] + Token(rng, extraTokens) + text[at..];
            case 10:
                return ReplaceScalar(rng, lines, Nesting(rng));
            case 11:
                return ReplaceScalar(rng, lines, LongString(rng));
            default:
                // A line moved elsewhere (keys out of their section).
                var from = rng.Next(lines.Count);
                var moved = lines[from];
                lines.RemoveAt(from);
                lines.Insert(rng.Next(lines.Count + 1), moved);
                return string.Join('\n', lines);
        }
    }

    public static string Token(Random rng, string[]? extra = null)
    {
        if (extra is { Length: > 0 } && rng.Next(3) == 0)
        {
            return extra[rng.Next(extra.Length)];
        }

        return rng.Next(10) switch
        {
            0 => rng.NextDouble().ToString("R", CultureInfo.InvariantCulture),
            1 => (rng.NextInt64() * (rng.Next(2) == 0 ? 1 : -1)).ToString(CultureInfo.InvariantCulture),
            2 => RandomChars(rng, 1 + rng.Next(12)),
            _ => Tokens[rng.Next(Tokens.Length)],
        };
    }

    /// <summary>Nested lists or mappings, usually shallow, sometimes far deeper than any parser's stack.</summary>
    public static string Nesting(Random rng)
    {
        var depth = rng.Next(4) switch
        {
            0 => 1 + rng.Next(10),
            1 => 50 + rng.Next(100),
            2 => 1000 + rng.Next(5000),
            _ => 10_000 + rng.Next(20_000),
        };
        return rng.Next(3) switch
        {
            0 => new string('[', depth) + new string(']', depth),
            1 => string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth),
            _ => new string('[', depth),
        };
    }

    public static string LongString(Random rng) => new(RandomChar(rng), rng.Next(8) == 0 ? 50_000 + rng.Next(50_000) : 1000 + rng.Next(10_000));

    public static string RandomChars(Random rng, int n)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < n; i++)
        {
            sb.Append(RandomChar(rng));
        }

        return sb.ToString();
    }

    public static char RandomChar(Random rng) => rng.Next(6) switch
    {
        0 => (char)rng.Next(0, 32),
        1 => (char)rng.Next(0x80, 0x800),
        2 => (char)rng.Next(0xD800, 0xE000), // a lone surrogate: not valid UTF-16 text
        3 => Syntax[rng.Next(Syntax.Length)],
        _ => (char)rng.Next(32, 127),
    };

    private static string FlipChar(Random rng, string text)
    {
        if (text.Length == 0)
        {
            return RandomChar(rng).ToString();
        }

        var chars = text.ToCharArray();
        var n = 1 + rng.Next(3);
        for (var i = 0; i < n; i++)
        {
            var at = rng.Next(chars.Length);
            chars[at] = rng.Next(2) == 0 ? RandomChar(rng) : (char)(chars[at] ^ (1 << rng.Next(8)));
        }

        return new string(chars);
    }

    private static string Reindent(Random rng, string line)
    {
        var body = line.TrimStart(' ', '\t');
        var indent = line.Length - body.Length;
        return rng.Next(4) switch
        {
            0 => new string(' ', Math.Max(0, indent - 1 - rng.Next(4))) + body,
            1 => new string(' ', indent + 1 + rng.Next(4)) + body,
            2 => "\t" + line,
            _ => new string(' ', Math.Max(0, indent - 2)) + "\t" + body,
        };
    }

    /// <summary>Replaces the value after a "key:" or "- " on a random line (or, failing that, a random word).</summary>
    private static string ReplaceScalar(Random rng, List<string> lines, string token)
    {
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var i = rng.Next(lines.Count);
            var line = lines[i];
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            var dash = line.TrimStart().StartsWith("- ", StringComparison.Ordinal) ? line.IndexOf("- ", StringComparison.Ordinal) : -1;
            var at = colon >= 0 ? colon + 2 : dash >= 0 ? dash + 2 : -1;
            if (at < 0)
            {
                continue;
            }

            lines[i] = line[..at] + token;
            return string.Join('\n', lines);
        }

        var j = rng.Next(lines.Count);
        lines[j] += token;
        return string.Join('\n', lines);
    }
}
