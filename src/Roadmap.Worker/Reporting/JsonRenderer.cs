using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Roadmap.Worker.Reporting;

/// <summary>
/// The roadmap as JSON: the <c>/api/roadmap</c> document and <c>report --format json</c>. camelCase, statuses as
/// their labels, times ISO-8601 UTC ("2026-11-26T12:00:00Z"), dates "2027-03-31", unknown values as explicit nulls.
/// </summary>
public static class JsonRenderer
{
    /// <summary>The serializer settings of every Roadmap JSON document (read-only).</summary>
    public static readonly JsonSerializerOptions Options = CreateOptions();

    public static string Render(RoadmapView view) => JsonSerializer.Serialize(view, Options);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            WriteIndented = true,
            NumberHandling = JsonNumberHandling.Strict,
            // Served as application/json, never inlined in a page: ">= 99.9%" reads as written, not as "\u003E= 99.9%".
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new UtcInstantConverter());
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Writes instants as ISO-8601 UTC with a Z, never an offset; reads any ISO-8601 instant.</summary>
    private sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(ReportText.Instant(value));
    }
}
