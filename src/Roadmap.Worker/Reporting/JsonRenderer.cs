using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Roadmap.Worker.Reporting;

/// <summary>
/// The roadmap as JSON: the <c>/api/roadmap</c> document and <c>report --format json</c>. camelCase, statuses as
/// their labels, times ISO-8601 UTC ("2026-11-26T12:00:00Z"), dates "2027-03-31", unknown values as explicit nulls.
/// </summary>
public static class JsonRenderer
{
    /// <summary>The serializer settings of every Roadmap JSON document (read-only).</summary>
    public static readonly JsonSerializerOptions Options = CreateOptions();

    public static string Render(RoadmapView view) => JsonSerializer.Serialize(view, TypeInfo<RoadmapView>());

    /// <summary>
    /// The generated serializer of <typeparamref name="T"/> under <see cref="Options"/>: no reflection, so the same code
    /// runs in the Native AOT build. <typeparamref name="T"/> must be listed on <see cref="RoadmapJsonContext"/>.
    /// </summary>
    public static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

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
        // Source-generated metadata only: a type not listed on RoadmapJsonContext fails loudly instead of falling back
        // to reflection that a trimmed native build does not have. The documents hold no enums (statuses are strings).
        options.TypeInfoResolver = RoadmapJsonContext.Default;
        options.MakeReadOnly();
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

/// <summary>The types Roadmap writes as JSON, with serializers generated at build time (see <see cref="JsonRenderer"/>).</summary>
[JsonSerializable(typeof(RoadmapView))]
[JsonSerializable(typeof(InitiativeView))]
[JsonSerializable(typeof(KpiHistory))]
[JsonSerializable(typeof(DateTimeOffset))]
internal sealed partial class RoadmapJsonContext : JsonSerializerContext;
