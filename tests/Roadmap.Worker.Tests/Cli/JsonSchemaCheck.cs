using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Roadmap.Worker.Tests.Cli;

/// <summary>
/// A JSON Schema check for the subset the config schema uses (type, properties, required, additionalProperties,
/// items, enum, const, pattern, minimum, maximum, anyOf, allOf, if/then), and YAML to JSON as an editor's YAML
/// language server converts it (plain scalars resolved by the YAML core schema). Small enough to read; no package.
/// </summary>
internal static class JsonSchemaCheck
{
    /// <summary>Every place <paramref name="value"/> breaks <paramref name="schema"/>, as "PATH: what".</summary>
    public static List<string> Problems(JsonNode schema, JsonNode? value, string path = "$")
    {
        var problems = new List<string>();
        Check((JsonObject)schema, value, path, problems);
        return problems;
    }

    public static JsonNode? FromYaml(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", Convert(c.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(Convert)]),
        YamlScalarNode { Style: not ScalarStyle.Plain } s => JsonValue.Create(s.Value),
        YamlScalarNode s => Plain(s.Value ?? ""),
        _ => throw new NotSupportedException(node.NodeType.ToString()),
    };

    private static JsonValue? Plain(string text)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(text.StartsWith('t') || text.StartsWith('T'));
        }

        if (Regex.IsMatch(text, "^[-+]?[0-9]+$") && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            return JsonValue.Create(n);
        }

        if (Regex.IsMatch(text, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"))
        {
            return JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture));
        }

        return JsonValue.Create(text);
    }

    private static bool Valid(JsonObject schema, JsonNode? value, string path) => Problems(schema, value, path).Count == 0;

    private static void Check(JsonObject schema, JsonNode? value, string path, List<string> problems)
    {
        if (schema["type"] is { } type)
        {
            var types = type is JsonArray a ? a.Select(t => (string)t!).ToList() : [(string)type!];
            if (!types.Any(t => IsType(value, t)))
            {
                problems.Add($"{path}: expected {string.Join(" or ", types)}, not {Describe(value)}");
                return;
            }
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(v => JsonNode.DeepEquals(v, value)))
        {
            problems.Add($"{path}: {value?.ToJsonString()} is not one of {allowed.ToJsonString()}");
        }

        if (schema["const"] is { } constant && !JsonNode.DeepEquals(constant, value))
        {
            problems.Add($"{path}: expected {constant.ToJsonString()}");
        }

        if (schema["pattern"] is { } pattern && value is JsonValue v && v.TryGetValue<string>(out var text) && !Regex.IsMatch(text, (string)pattern!))
        {
            problems.Add($"{path}: \"{text}\" does not match {pattern}");
        }

        if (AsNumber(value) is { } d)
        {
            if (schema["minimum"] is { } min && d < (double)min!)
            {
                problems.Add($"{path}: {d} is below {min}");
            }

            if (schema["maximum"] is { } max && d > (double)max!)
            {
                problems.Add($"{path}: {d} is above {max}");
            }
        }

        if (value is JsonObject obj)
        {
            var properties = schema["properties"] as JsonObject;
            foreach (var name in (schema["required"] as JsonArray)?.Select(r => (string)r!) ?? [])
            {
                if (!obj.ContainsKey(name))
                {
                    problems.Add($"{path}: missing required {name}");
                }
            }

            foreach (var (name, child) in obj)
            {
                if (properties?[name] is JsonObject sub)
                {
                    Check(sub, child, $"{path}.{name}", problems);
                }
                else if (schema["additionalProperties"] is JsonValue extra && !(bool)extra)
                {
                    problems.Add($"{path}: unknown key {name}");
                }
                else if (schema["additionalProperties"] is JsonObject extraSchema)
                {
                    Check(extraSchema, child, $"{path}.{name}", problems);
                }
            }
        }

        if (value is JsonArray list && schema["items"] is JsonObject items)
        {
            for (var i = 0; i < list.Count; i++)
            {
                Check(items, list[i], $"{path}[{i}]", problems);
            }
        }

        if (schema["anyOf"] is JsonArray anyOf && !anyOf.Any(s => Valid((JsonObject)s!, value, path)))
        {
            problems.Add($"{path}: matches none of the alternatives");
        }

        foreach (var part in (schema["allOf"] as JsonArray) ?? [])
        {
            var branch = (JsonObject)part!;
            if (branch["if"] is JsonObject condition)
            {
                if (Valid(condition, value, path) && branch["then"] is JsonObject then)
                {
                    Check(then, value, path, problems);
                }
            }
            else
            {
                Check(branch, value, path, problems);
            }
        }
    }

    private static bool IsType(JsonNode? value, string type) => type switch
    {
        "object" => value is JsonObject,
        "array" => value is JsonArray,
        "string" => value is JsonValue v && v.TryGetValue<string>(out _),
        "boolean" => value is JsonValue b && b.TryGetValue<bool>(out _),
        "integer" => AsNumber(value) is { } d && d == Math.Floor(d),
        "number" => AsNumber(value) is not null,
        "null" => value is null,
        _ => throw new NotSupportedException(type),
    };

    private static double? AsNumber(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue<long>(out var l) ? l : value is JsonValue w && w.TryGetValue<double>(out var d) ? d : null;

    private static string Describe(JsonNode? value) => value?.ToJsonString() ?? "null";
}
