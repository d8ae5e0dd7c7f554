using System.Text.Json;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

public sealed class JsonRendererTests : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<JsonDocument> EvaluatedAsync()
    {
        var database = await _f.WriteSamplesAsync();
        return JsonDocument.Parse(JsonRenderer.Render(RoadmapViewBuilder.Build(_f.Config, _f.Evaluation(database).EvaluateAll())));
    }

    [Fact]
    public async Task Render_Document_HasTheStablePropertyNamesInOrder()
    {
        using var doc = await EvaluatedAsync();
        var root = doc.RootElement;
        var initiative = root.GetProperty("initiatives")[0];

        Assert.Equal(["name", "vision", "goals", "evaluatedAt", "initiatives", "config"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["id", "name", "goal", "timeline", "declaredStatus", "owner", "details", "dependsOn", "risks", "health", "blocked", "blockedBy", "kpis"],
            initiative.EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["id", "name", "unit", "source", "signal", "aggregate", "window", "target", "targetValue", "value", "met", "status", "note", "deadline", "forecast", "errorBudgetRemaining", "baseline", "coverage", "observedSeconds", "forecastLower", "forecastUpper", "forecastProbability", "deadlineDate", "reason"],
            initiative.GetProperty("kpis")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["label", "start", "due"], initiative.GetProperty("timeline").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["risk", "mitigation"], initiative.GetProperty("risks")[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Render_Kpi_IsExactWithIsoTimesLabelsAndExplicitNulls()
    {
        using var doc = await EvaluatedAsync();
        var query = doc.RootElement.GetProperty("initiatives")[1].GetProperty("kpis")[0];

        var expected = """
            {
              "id": "query-time",
              "name": "Database query time",
              "unit": "seconds",
              "source": "db",
              "signal": "latency_seconds",
              "aggregate": "p95",
              "window": "1h",
              "target": "<= 0.05",
              "targetValue": 0.05,
              "value": 0.1,
              "met": false,
              "status": "at_risk",
              "note": "target not met, and too little history to forecast it by 2027-03-31",
              "deadline": "2027-04-01T00:00:00Z",
              "forecast": null,
              "errorBudgetRemaining": null,
              "baseline": null,
              "coverage": 0.5041666666666667,
              "observedSeconds": 1815,
              "forecastLower": null,
              "forecastUpper": null,
              "forecastProbability": null,
              "deadlineDate": "2027-03-31",
              "reason": {
                "code": "source_failing",
                "text": "its source db has failed every poll since 2026-11-26 11:30:00 UTC: connection refused; 0.1 s misses the target <= 0.05 by 0.05 s",
                "since": "2026-11-26T11:30:00Z",
                "error": "connection refused",
                "shortfall": 0.05
              }
            }
            """;
        Assert.Equal(expected, JsonSerializer.Serialize(query, Indented).ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Render_Initiative_CarriesTimelineDatesHealthAndBlocked()
    {
        using var doc = await EvaluatedAsync();
        var cloud = doc.RootElement.GetProperty("initiatives")[0];

        Assert.Equal("2026-11-26T12:00:00Z", doc.RootElement.GetProperty("evaluatedAt").GetString());
        Assert.Equal("""{"label":"2026-Q4","start":"2026-10-01","due":"2026-12-31"}""", cloud.GetProperty("timeline").GetRawText().Replace(" ", "").Replace("\n", ""));
        Assert.Equal("in-progress", cloud.GetProperty("declaredStatus").GetString());
        Assert.Equal("missed", cloud.GetProperty("health").GetString());
        Assert.True(cloud.GetProperty("blocked").GetBoolean());
        Assert.Equal(["db-perf"], cloud.GetProperty("blockedBy").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("initiatives")[1].GetProperty("details").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("initiatives")[2].GetProperty("risks")[0].GetProperty("mitigation").ValueKind);
    }

    [Fact]
    public void Render_NotEvaluated_HasNullEvaluatedAtStatusAndHealth()
    {
        using var doc = JsonDocument.Parse(JsonRenderer.Render(RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty)));

        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("evaluatedAt").ValueKind);
        var cloud = doc.RootElement.GetProperty("initiatives")[0];
        Assert.Equal(JsonValueKind.Null, cloud.GetProperty("health").ValueKind);
        Assert.Equal(JsonValueKind.Null, cloud.GetProperty("kpis")[0].GetProperty("status").ValueKind);
        Assert.Equal(JsonValueKind.Null, cloud.GetProperty("kpis")[0].GetProperty("met").ValueKind);
    }

    [Theory]
    [InlineData("2026-11-26T12:00:00+00:00", "\"2026-11-26T12:00:00Z\"")]
    [InlineData("2026-11-26T13:00:00+01:00", "\"2026-11-26T12:00:00Z\"")]
    [InlineData("2026-11-26T12:00:00.250+00:00", "\"2026-11-26T12:00:00.250Z\"")]
    [InlineData("2026-11-26T12:00:00.0004+00:00", "\"2026-11-26T12:00:00Z\"")]
    public void Options_Instants_AreIsoUtcWithZ(string instant, string json) =>
        Assert.Equal(json, JsonSerializer.Serialize(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture), JsonRenderer.Options));
}
