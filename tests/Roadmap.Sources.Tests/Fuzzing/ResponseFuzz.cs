using System.Text.Json.Nodes;
using Roadmap.Core.Tests.Config.Fuzzing;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.Tests.Fuzzing;

/// <summary>
/// Mutated HTTP API responses. A case is one string: a first line "STATUS MEDIA-TYPE" and then the body, one char per
/// byte (Latin-1), so that invalid UTF-8 can be written, printed and replayed. Headers come from <see cref="Header"/>.
/// </summary>
internal static class ResponseFuzz
{
    /// <summary>CI cases per parser: enough to reach every branch of a small parser, well within a few seconds.</summary>
    public const int Cases = 2_000;

    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static readonly int[] Statuses = [200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 422, 429, 500, 503];

    private static readonly string?[] MediaTypes = ["application/json", "application/json", "application/json", "application/problem+json", "text/html", "text/plain", null];

    /// <summary>A mutated response built from one of <paramref name="seeds"/> (JSON bodies).</summary>
    public static string Generate(Random rng, IReadOnlyList<string> seeds)
    {
        var body = seeds[rng.Next(seeds.Count)];
        body = rng.Next(3) switch
        {
            0 => Mutations.Mutate(rng, body, JsonTokens),
            _ => MutateJsonOrText(rng, body),
        };
        var bytes = Encoding.UTF8.GetBytes(body);
        if (rng.Next(6) == 0)
        {
            bytes = MutateBytes(rng, bytes);
        }

        var media = MediaTypes[rng.Next(MediaTypes.Length)];
        return $"{Statuses[rng.Next(Statuses.Length)]} {media ?? "-"}\n{Encoding.Latin1.GetString(bytes)}";
    }

    /// <summary>The response a case stands for.</summary>
    public static ApiResponse Response(string input, params (string Name, string Value)[] headers)
    {
        var newline = input.IndexOf('\n', StringComparison.Ordinal);
        var first = input[..newline].Split(' ');
        var message = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        var media = first[1] == "-" ? null : first[1];
        return new ApiResponse(int.Parse(first[0], System.Globalization.CultureInfo.InvariantCulture), "Reason", message.Headers, media, Encoding.Latin1.GetBytes(input[(newline + 1)..]));
    }

    /// <summary>Header values that have broken parsers: dates, deltas, epochs, huge and negative numbers, garbage.</summary>
    public static readonly string[] HeaderValues =
    [
        "0", "1", "30", "-1", "1.5", "999999999999", "99999999999999999999", "9223372036854775807", "9223372036854775808", "253402300799",
        "253402300800", "1700000000", "", " ", "abc", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "0x10", "+5", "5 ", "1e3", "\u00e9", "10, 20",
        "<https://api.example.com/x?page=2>; rel=\"next\"", "<>; rel=", "\"\"",
    ];

    public static string Header(Random rng) => rng.Next(4) == 0 ? Mutations.Token(rng) : HeaderValues[rng.Next(HeaderValues.Length)];

    private static readonly string[] JsonTokens =
    [
        "1e400", "-1e400", "123456789012345678901234567890", "-0", "1E-400", "0.1e-999999", "\"\\uD800\"", "\"\\uDC00x\"", "\"\\u0000\"",
        "NaN", "Infinity", "null", "true", "[]", "{}", "\"\"", "\"NaN\"", "\"+Inf\"", "\"1e400\"", "\"12.5\"", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "4.5", "-3", "{\"a\":1,\"a\":2}", new string('[', 100) + new string(']', 100),
        new string('[', 10_000), "//", "/* */", "'single'", "\"\\x41\"",
    ];

    private static string MutateJsonOrText(Random rng, string body)
    {
        try
        {
            return MutateJson(rng, body);
        }
        catch (InvalidOperationException)
        {
            // JsonNode refuses to write some of what it read (a lone surrogate); such a body is mutated as text.
            return Mutations.Mutate(rng, body, JsonTokens);
        }
    }

    /// <summary>A JSON-aware mutation: a value of the wrong type, a field removed or doubled, a huge number, deep nesting.</summary>
    private static string MutateJson(Random rng, string body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return Mutations.Mutate(rng, body, JsonTokens);
        }

        if (root is null)
        {
            return body;
        }

        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[rng.Next(nodes.Count)];
        var replacement = rng.Next(3) == 0 ? null : JsonNode.Parse(JsonValueText(rng));
        switch (target.Parent)
        {
            case JsonObject parent:
                var name = target.GetPropertyName();
                switch (rng.Next(3))
                {
                    case 0:
                        parent.Remove(name);
                        break;
                    case 1:
                        // A duplicate key, which JsonNode will not hold: spliced into the text.
                        var text = root.ToJsonString();
                        var at = text.IndexOf($"\"{name}\":", StringComparison.Ordinal);
                        return at < 0 ? text : text[..at] + $"\"{name}\":{JsonValueText(rng)}," + text[at..];
                    default:
                        parent[name] = replacement;
                        break;
                }

                break;
            case JsonArray array:
                var index = target.GetElementIndex();
                if (rng.Next(2) == 0)
                {
                    array.RemoveAt(index);
                }
                else
                {
                    array[index] = replacement;
                }

                break;
            default:
                return JsonValueText(rng);
        }

        var result = root.ToJsonString();
        // Tokens JsonNode cannot hold (1e400, lone surrogates, duplicate keys, NaN) go in as text.
        return rng.Next(5) == 0 ? result.Replace("1", JsonTokens[rng.Next(JsonTokens.Length)], StringComparison.Ordinal) : result;
    }

    private static string JsonValueText(Random rng) => rng.Next(8) switch
    {
        0 => "\"" + FuzzRun.Escape(Mutations.RandomChars(rng, rng.Next(20))) + "\"",
        1 => rng.NextInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
        2 => "[" + string.Join(",", Enumerable.Range(0, rng.Next(5)).Select(_ => rng.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]",
        3 => "{\"x\":" + rng.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture) + "}",
        _ => ValidJsonTokens[rng.Next(ValidJsonTokens.Length)],
    };

    private static readonly string[] ValidJsonTokens =
    [
        "1e308", "123456789012345678901234567890", "-0", "\"\\u0000\"", "null", "true", "false", "[]", "{}", "\"\"",
        "\"NaN\"", "\"+Inf\"", "\"-Inf\"", "\"1e400\"", "\"12.5\"", "9223372036854775807", "-1", "4.5", "0.000001", "1E-300",
        "\"9223372036854775808\"", "[\"1\", \"2\"]", "[1700000000.5, \"3\"]",
    ];

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, into);
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, into);
                    }
                }

                break;
        }
    }

    /// <summary>Invalid UTF-8: a stray continuation byte, an overlong form, a cut multi-byte sequence, a BOM, NUL.</summary>
    private static byte[] MutateBytes(Random rng, byte[] bytes)
    {
        byte[][] bad = [[0xFF], [0x80], [0xC0, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80], [0xEF, 0xBB, 0xBF], [0x00]];
        var insert = bad[rng.Next(bad.Length)];
        var at = rng.Next(bytes.Length + 1);
        return [.. bytes.AsSpan(0, at), .. insert, .. bytes.AsSpan(at)];
    }
}
