using System.Net;
using System.Text.Json;
using Roadmap.Core.Evaluation;
using Roadmap.Worker.Endpoints;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Tests.Reporting;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed class ApiEndpointsTests : IDisposable
{
    private static readonly DateTimeOffset Now = ReportFixture.Now;
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private static async Task<(HttpStatusCode Status, string? ContentType, JsonElement Body)> GetAsync(ApiHost host, string path)
    {
        using var response = await host.Http.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, doc.RootElement.Clone());
    }

    [Fact]
    public async Task Roadmap_BeforeTheFirstEvaluation_EvaluatesOnDemand()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());

        var (status, type, body) = await GetAsync(host, "/api/roadmap");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", type);
        Assert.Equal("2026-11-26T12:00:00Z", body.GetProperty("evaluatedAt").GetString());
        Assert.Equal(["cloud", "db-perf", "security"], body.GetProperty("initiatives").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal("met", body.GetProperty("initiatives")[0].GetProperty("kpis")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Roadmap_AfterAnEvaluation_ServesTheLatestSnapshot()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());
        host.Evaluation.EvaluateAll();
        _f.Time.Advance(TimeSpan.FromMinutes(1));

        var (_, _, body) = await GetAsync(host, "/api/roadmap");

        // Not re-judged per request: the time is the evaluation's, not the request's.
        Assert.Equal("2026-11-26T12:00:00Z", body.GetProperty("evaluatedAt").GetString());
    }

    [Fact]
    public async Task Initiative_KpiWithDeadline_HasTheEndInstantAndTheCalendarDateBesideIt()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());

        var (_, _, body) = await GetAsync(host, "/api/initiatives/db-perf");

        // The fixture's deadline is 2027-03-31 in UTC: the goal holds through that day, so its instant is the next midnight.
        var query = body.GetProperty("kpis")[0];
        Assert.Equal("2027-04-01T00:00:00Z", query.GetProperty("deadline").GetString());
        Assert.Equal("2027-03-31", query.GetProperty("deadlineDate").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("kpis")[1].GetProperty("deadlineDate").ValueKind);
        Assert.Equal("2026-10-01", body.GetProperty("timeline").GetProperty("start").GetString());
        Assert.Equal("2027-03-31", body.GetProperty("timeline").GetProperty("due").GetString());
    }

    [Fact]
    public async Task Initiative_Known_IsThatInitiativeOfTheRoadmap()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());

        var (status, _, body) = await GetAsync(host, "/api/initiatives/db-perf");
        var (_, _, roadmap) = await GetAsync(host, "/api/roadmap");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(JsonSerializer.Serialize(roadmap.GetProperty("initiatives")[1]), JsonSerializer.Serialize(body));
        Assert.Equal("at_risk", body.GetProperty("health").GetString());
    }

    [Theory]
    [InlineData("/api/initiatives/nope", "Unknown initiative", "No initiative has the id \"nope\".")]
    [InlineData("/api/initiatives/nope/kpis/uptime/history", "Unknown initiative", "No initiative has the id \"nope\".")]
    [InlineData("/api/initiatives/cloud/kpis/nope/history", "Unknown KPI", "The initiative \"cloud\" has no KPI \"nope\"; its KPIs are: uptime, latency.")]
    [InlineData("/api/initiatives/security/kpis/uptime/history", "Unknown KPI", "The initiative \"security\" has no KPIs.")]
    public async Task UnknownId_Is404WithProblemDetails(string path, string title, string detail)
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());

        var (status, type, body) = await GetAsync(host, path);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", type);
        Assert.Equal(404, body.GetProperty("status").GetInt32());
        Assert.Equal(title, body.GetProperty("title").GetString());
        Assert.Equal(detail, body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task History_Range_ReturnsTheStoredEvaluationsInItOldestFirst()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());
        host.Store.Append(
        [
            new KpiEvaluation("cloud", "uptime", Now.AddDays(-2), 0.99, 0.999, false, KpiStatus.Missed, null, 10, "n"),
            new KpiEvaluation("cloud", "uptime", Now.AddHours(-1).AddMilliseconds(250), 0.9995, 0.999, true, KpiStatus.Met, null, 10, "n"),
            new KpiEvaluation("cloud", "uptime", Now.AddMinutes(-30), null, 0.999, false, KpiStatus.NoData, null, 0, "n"),
            new KpiEvaluation("cloud", "latency", Now.AddMinutes(-30), 0.5, 0.3, false, KpiStatus.Missed, null, 3, "n"),
        ]);

        var (status, type, body) = await GetAsync(host, "/api/initiatives/cloud/kpis/uptime/history?from=2026-11-25T00:00:00Z&to=2026-11-26T11:59:59Z");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", type);
        var expected = """
            {"initiative":"cloud","kpi":"uptime","from":"2026-11-25T00:00:00Z","to":"2026-11-26T11:59:59Z","points":[{"at":"2026-11-26T11:00:00.250Z","value":0.9995,"target":0.999,"status":"met","rules":2},{"at":"2026-11-26T11:30:00Z","value":null,"target":0.999,"status":"no_data","rules":2}]}
            """;
        Assert.Equal(expected, JsonSerializer.Serialize(body));
    }

    [Fact]
    public async Task History_NoRange_IsTheLast7Days()
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());
        host.Store.Append(
        [
            new KpiEvaluation("cloud", "uptime", Now.AddDays(-8), 0.9, 0.999, false, KpiStatus.Missed, null, 10, "n"),
            new KpiEvaluation("cloud", "uptime", Now.AddDays(-6), 0.99, 0.999, false, KpiStatus.Missed, null, 10, "n"),
        ]);

        var (_, _, body) = await GetAsync(host, "/api/initiatives/cloud/kpis/uptime/history");

        Assert.Equal("2026-11-19T12:00:00Z", body.GetProperty("from").GetString());
        Assert.Equal("2026-11-26T12:00:00Z", body.GetProperty("to").GetString());
        Assert.Equal(["2026-11-20T12:00:00Z"], body.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("at").GetString()));
    }

    [Theory]
    [InlineData("from=yesterday", "from \"yesterday\" is not an ISO-8601 time, e.g. 2026-11-26T12:00:00Z or 2026-11-26")]
    [InlineData("to=11/26/2026", "to \"11/26/2026\" is not an ISO-8601 time, e.g. 2026-11-26T12:00:00Z or 2026-11-26")]
    [InlineData("from=2026-11-26T12:00:00+01:00", "from \"2026-11-26T12:00:00 01:00\" is not an ISO-8601 time, e.g. 2026-11-26T12:00:00Z or 2026-11-26 (in a URL, write the + of an offset as %2B)")]
    [InlineData("from=2026-13-01", "from \"2026-13-01\" is not an ISO-8601 time, e.g. 2026-11-26T12:00:00Z or 2026-11-26")]
    [InlineData("from=2026-11-27&to=2026-11-26", "from (2026-11-27T00:00:00Z) is after to (2026-11-26T00:00:00Z)")]
    [InlineData("from=2026-11-27T00:00:00Z", "from (2026-11-27T00:00:00Z) is after to (2026-11-26T12:00:00Z)")]
    public async Task History_BadRange_Is400WithProblemDetails(string query, string detail)
    {
        await using var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());

        var (status, type, body) = await GetAsync(host, "/api/initiatives/cloud/kpis/uptime/history?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", type);
        Assert.Equal("Bad time range", body.GetProperty("title").GetString());
        Assert.Equal(detail, body.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(null, null, "2026-11-19T12:00:00Z", "2026-11-26T12:00:00Z")]
    [InlineData("", "", "2026-11-19T12:00:00Z", "2026-11-26T12:00:00Z")]
    [InlineData("2026-11-01", null, "2026-11-01T00:00:00Z", "2026-11-26T12:00:00Z")]
    [InlineData(null, "2026-11-10T00:00:00Z", "2026-11-03T00:00:00Z", "2026-11-10T00:00:00Z")]
    [InlineData("2026-11-26T10:00:00+02:00", "2026-11-26T12:00", "2026-11-26T08:00:00Z", "2026-11-26T12:00:00Z")]
    [InlineData("2026-11-26T12:00:00.5Z", "2026-11-26T12:00:00.5Z", "2026-11-26T12:00:00.500Z", "2026-11-26T12:00:00.500Z")]
    public void TryParseRange_Valid_DefaultsToTheLast7Days(string? from, string? to, string since, string until)
    {
        Assert.True(ApiEndpoints.TryParseRange(from, to, Now, out var s, out var u, out var problem), problem);
        Assert.Equal((since, until), (ReportText.Instant(s), ReportText.Instant(u)));
    }
}
