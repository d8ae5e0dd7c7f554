using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Roadmap.Sources.Json;

/// <summary>
/// The JSONPath subset that selects one value, which is what users write for a signal: <c>$</c>, <c>.name</c>,
/// <c>['name']</c> or <c>["name"]</c> (any key, e.g. with spaces), and <c>[index]</c> (negative counts from the end).
/// Wildcards, recursive descent, slices, unions, filters and functions select zero or many values and are rejected.
/// </summary>
public sealed class JsonPath : IEquatable<JsonPath>
{
    private readonly IReadOnlyList<object> _steps; // string: a member name; int: an array index

    private JsonPath(string text, IReadOnlyList<object> steps)
    {
        Text = text;
        _steps = steps;
    }

    /// <summary>The path as written.</summary>
    public string Text { get; }

    public override string ToString() => Text;

    /// <summary>Paths written alike are equal (what a config reload compares).</summary>
    public bool Equals(JsonPath? other) => other is not null && Text == other.Text;

    public override bool Equals(object? obj) => Equals(obj as JsonPath);

    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    /// <summary>Parses <paramref name="text"/>; on failure says what is wrong and at which character (1-based).</summary>
    public static bool TryParse(string text, out JsonPath path, out string? problem)
    {
        path = new JsonPath(text, []);
        // A name with half a surrogate pair cannot be looked up: System.Text.Json throws rather than find nothing.
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                problem = $"invalid character at {i + 1} (half of a UTF-16 surrogate pair)";
                return false;
            }
        }

        problem = Parse(text, out var steps);
        if (problem is not null)
        {
            return false;
        }

        path = new JsonPath(text, steps);
        return true;
    }

    /// <summary>The value this path selects in <paramref name="root"/>; false when a step finds nothing.</summary>
    public bool TryFind(JsonElement root, out JsonElement value)
    {
        value = root;
        foreach (var step in _steps)
        {
            switch (step)
            {
                case string name when value.ValueKind == JsonValueKind.Object && value.TryGetProperty(name, out var member):
                    value = member;
                    break;
                case int index when value.ValueKind == JsonValueKind.Array:
                    var length = value.GetArrayLength();
                    var at = index < 0 ? length + index : index;
                    if (at < 0 || at >= length)
                    {
                        return false;
                    }

                    value = value[at];
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    private static string? Parse(string text, out List<object> steps)
    {
        steps = [];
        if (!text.StartsWith('$'))
        {
            return "a JSONPath starts with $ (the document), e.g. $.sessions.bounceRate";
        }

        var i = 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                i++;
                if (i < text.Length && text[i] == '.')
                {
                    return $"recursive descent (..) at character {i} is not supported: a signal needs exactly one value";
                }

                if (i < text.Length && text[i] == '*')
                {
                    return $"the wildcard at character {i + 1} is not supported: a signal needs exactly one value";
                }

                var start = i;
                while (i < text.Length && IsNameChar(text[i]))
                {
                    i++;
                }

                if (i == start)
                {
                    return $"expected a name after '.' at character {i}";
                }

                if (i < text.Length && text[i] == '(')
                {
                    return $"functions such as {text[start..i]}() are not supported";
                }

                steps.Add(text[start..i]);
            }
            else if (c == '[')
            {
                if (Bracket(text, ref i, out var step) is { } problem)
                {
                    return problem;
                }

                steps.Add(step!);
            }
            else
            {
                return $"unexpected '{c}' at character {i + 1}: expected .name, ['name'] or [index]";
            }
        }

        return null;
    }

    /// <summary>One [...] segment, <paramref name="i"/> at its '['; leaves <paramref name="i"/> after its ']'.</summary>
    private static string? Bracket(string text, ref int i, out object? step)
    {
        step = null;
        var open = i + 1;
        i++;
        SkipSpaces(text, ref i);
        if (i >= text.Length)
        {
            return $"'[' at character {open} is not closed";
        }

        var c = text[i];
        if (c is '\'' or '"')
        {
            if (Quoted(text, ref i, out var name) is { } problem)
            {
                return problem;
            }

            step = name;
        }
        else if (c == '-' || char.IsAsciiDigit(c))
        {
            var start = i;
            i++;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (!int.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
            {
                return $"bad index \"{text[start..i]}\" at character {start + 1}";
            }

            step = index;
        }
        else if (c == '*')
        {
            return $"the wildcard at character {i + 1} is not supported: a signal needs exactly one value";
        }
        else if (c == '?')
        {
            return $"the filter at character {i + 1} is not supported: a signal needs exactly one value";
        }
        else if (c == ':')
        {
            return $"the slice at character {i + 1} is not supported: a signal needs exactly one value";
        }
        else
        {
            return $"unexpected '{c}' at character {i + 1}: expected ['name'] or [index]";
        }

        SkipSpaces(text, ref i);
        if (i < text.Length && text[i] is ':' or ',')
        {
            var what = text[i] == ':' ? "slice" : "union";
            return $"the {what} at character {i + 1} is not supported: a signal needs exactly one value";
        }

        if (i >= text.Length || text[i] != ']')
        {
            return i >= text.Length ? $"'[' at character {open} is not closed" : $"unexpected '{text[i]}' at character {i + 1}: expected ']'";
        }

        i++;
        return null;
    }

    /// <summary>A quoted name, <paramref name="i"/> at its opening quote; leaves <paramref name="i"/> after the closing one.</summary>
    private static string? Quoted(string text, ref int i, out string name)
    {
        var quote = text[i];
        var opened = i + 1;
        var sb = new StringBuilder();
        i++;
        while (i < text.Length && text[i] != quote)
        {
            if (text[i] != '\\')
            {
                sb.Append(text[i++]);
                continue;
            }

            if (i + 1 >= text.Length)
            {
                break;
            }

            var escaped = text[i + 1];
            switch (escaped)
            {
                case '\\' or '/' or '\'' or '"':
                    sb.Append(escaped);
                    break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u' when TryHex(text, i + 2, out var code):
                    // Half a surrogate pair cannot be looked up (System.Text.Json throws at poll time rather than find
                    // nothing): an escaped high surrogate must be followed by an escaped low one, and a low one never
                    // stands alone. A literal half is refused before parsing.
                    if (char.IsHighSurrogate(code) && text.AsSpan(i + 6).StartsWith("\\u") && TryHex(text, i + 8, out var low) && char.IsLowSurrogate(low))
                    {
                        sb.Append(code).Append(low);
                        i += 6;
                    }
                    else if (char.IsSurrogate(code))
                    {
                        name = "";
                        return $"bad escape \"{text.Substring(i, 6)}\" at character {i + 1}: half of a UTF-16 surrogate pair";
                    }
                    else
                    {
                        sb.Append(code);
                    }

                    i += 4;
                    break;
                default:
                    name = "";
                    return $"bad escape \"\\{escaped}\" at character {i + 1}";
            }

            i += 2;
        }

        name = sb.ToString();
        if (i >= text.Length)
        {
            return $"the quote at character {opened} is not closed";
        }

        i++;
        return null;
    }

    /// <summary>The UTF-16 code unit written as 4 hex digits at <paramref name="at"/>; false when they are not there.</summary>
    private static bool TryHex(string text, int at, out char code)
    {
        var value = (ushort)0;
        var ok = at + 4 <= text.Length && ushort.TryParse(text.AsSpan(at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        code = (char)value;
        return ok;
    }

    private static void SkipSpaces(string text, ref int i)
    {
        while (i < text.Length && text[i] == ' ')
        {
            i++;
        }
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || c > 0x7F;
}
