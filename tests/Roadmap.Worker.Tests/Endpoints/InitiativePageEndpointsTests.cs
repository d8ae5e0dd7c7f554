using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Roadmap.Core.Evaluation;
using Roadmap.Worker.Tests.Hosting;
using Roadmap.Worker.Tests.Reporting;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed partial class InitiativePageEndpointsTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    /// <summary>
    /// db-perf's query time: one evaluation 10 days ago (met), then one every 12 hours over the last 5 days: at risk,
    /// on track, at risk. The page must show what is stored, so the test appends it before the first request.
    /// </summary>
    private static readonly (double DaysAgo, double Value, KpiStatus Status)[] History =
    [
        (10, 0.04, KpiStatus.Met),
        (5, 0.09, KpiStatus.AtRisk), (4.5, 0.085, KpiStatus.AtRisk), (4, 0.08, KpiStatus.AtRisk), (3.5, 0.075, KpiStatus.AtRisk),
        (3, 0.06, KpiStatus.OnTrack), (2.5, 0.055, KpiStatus.OnTrack), (2, 0.05, KpiStatus.OnTrack),
        (1.5, 0.07, KpiStatus.AtRisk), (1, 0.08, KpiStatus.AtRisk), (0.5, 0.09, KpiStatus.AtRisk),
    ];

    private async Task<ApiHost> StartAsync()
    {
        var host = await ApiHost.StartAsync(_f, await _f.WriteSamplesAsync());
        // Judge once first (it stores a row at now), so the first request does not add one under the test's feet.
        host.Evaluation.EvaluateAll();
        host.Store.Append(History
            .Select(p => new KpiEvaluation("db-perf", "query-time", ReportFixture.Now - TimeSpan.FromDays(p.DaysAgo), p.Value, 0.05, p.Status == KpiStatus.Met, p.Status, null, 1, "test"))
            .ToList());
        return host;
    }

    [Theory]
    [InlineData("", 30)]
    [InlineData("?range=30d", 30)]
    [InlineData("?range=7d", 7)]
    public async Task InitiativePage_Range_ChartsEveryStoredEvaluationAndListsItsStatusChangesNewestFirst(string query, int days)
    {
        await using var host = await StartAsync();
        var stored = host.Store.History("db-perf", "query-time", ReportFixture.Now.AddDays(-days), ReportFixture.Now);
        var expected = stored.Zip(stored.Skip(1)).Where(p => p.First.Status != p.Second.Status)
            .Select(p => (DateTimeOffset.FromUnixTimeMilliseconds(p.Second.TimestampMs).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), p.First.Status, p.Second.Status))
            .Reverse().ToList();

        using var response = await host.Http.GetAsync(new Uri("/initiatives/db-perf" + query, UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var section = Regex.Match(html, "<section class=\"kpi\" id=\"kpi-query-time\"[^>]*data-evaluations=\"(\\d+)\">(.*?)</section>", RegexOptions.Singleline);
        Assert.True(section.Success, html);
        Assert.Equal(stored.Count, int.Parse(section.Groups[1].Value, CultureInfo.InvariantCulture));
        // Fewer evaluations than the chart's points: every one is a vertex of the line.
        var points = PolylinePoints().Match(section.Groups[2].Value);
        Assert.True(points.Success, section.Groups[2].Value);
        Assert.Equal(stored.Count(s => s.Value is not null), points.Groups[1].Value.Split(' ').Length);
        var changes = ChangeRow().Matches(section.Groups[2].Value).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)).ToList();
        Assert.Equal(expected, changes);
        Assert.True(expected.Count >= (days == 30 ? 3 : 2), $"the history must hold changes to show: {expected.Count}");
        var label = days == 7 ? "7 days" : "30 days";
        Assert.Contains($"<strong aria-current=\"page\">{label}</strong>", html);
        Assert.Contains("<a href=\"/initiatives/db-perf?range=quarter\">this quarter</a>", html);
    }

    [Fact]
    public async Task InitiativePage_Dependencies_AreShownBothWaysWithRisksAndMitigations()
    {
        await using var host = await StartAsync();

        var html = await host.Http.GetStringAsync(new Uri("/initiatives/cloud", UriKind.Relative));

        Assert.Contains("<h1>Migrate &lt;script&gt;alert(1)&lt;/script&gt; | cloud</h1>", html);
        Assert.Contains("<dd class=\"depends-on\"><a href=\"/initiatives/db-perf\">Optimize database performance</a></dd>", html);
        Assert.Contains("<dd class=\"needed-by\"><a href=\"/initiatives/security\">Implement enhanced security</a></dd>", html);
        Assert.Contains("<tr><td>Downtime</td><td>Blue-green cut-over</td></tr><tr><td>Data loss</td><td>Checksums</td></tr>", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task InitiativePage_UnknownId_Is404PageWithTheIdEncoded()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(new Uri("/initiatives/%3Cb%3Enope", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("No initiative has the id \"&lt;b&gt;nope\".", html.Replace("&quot;", "\"", StringComparison.Ordinal));
        Assert.Contains("<a href=\"/\">Back to the board</a>", html);
    }

    [Fact]
    public async Task InitiativePage_UnknownRange_Is400PageNamingTheRanges()
    {
        await using var host = await StartAsync();

        using var response = await host.Http.GetAsync(new Uri("/initiatives/cloud?range=1y", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("7d, 30d, quarter", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Board_InitiativeNames_LinkToTheirPages()
    {
        await using var host = await StartAsync();

        var html = await host.Http.GetStringAsync(new Uri("/", UriKind.Relative));

        foreach (var id in new[] { "cloud", "db-perf", "security" })
        {
            Assert.Matches($"<tr id=\"initiative-{id}\"[^>]*>\\s*<th scope=\"row\"><span class=\"name\"><a href=\"/initiatives/{id}\">", html);
        }
    }

    [Fact]
    public async Task InitiativePage_WithAuthConfigured_NeedsTheBoardsCredentials()
    {
        const string yaml = """
            roadmap: { name: R }
            settings:
              auth: { bearerToken: "s3cret-token" }
            sources:
              - { id: web, kind: http, cron: "0 0 0 1 1 ? 2099", url: "http://127.0.0.1:1/" }
            initiatives:
              - { id: cloud, name: Cloud }
            """;
        await using var running = await RunningHost.StartAsync(yaml);
        using var http = new HttpClient { BaseAddress = running.Address };
        using var authorized = new HttpRequestMessage(HttpMethod.Get, "/initiatives/cloud");
        authorized.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-token");

        using var without = await http.GetAsync(new Uri("/initiatives/cloud", UriKind.Relative));
        using var with = await http.SendAsync(authorized);

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Empty(await without.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        Assert.Contains("<h1>Cloud</h1>", await with.Content.ReadAsStringAsync());
    }

    [GeneratedRegex("<polyline class=\"spark-line\" points=\"([^\"]*)\"")]
    private static partial Regex PolylinePoints();

    [GeneratedRegex("<tr data-at=\"([^\"]+)\"><td>.*?</td><td><span class=\"status s-(\\w+)\">.*?</span></td><td><span class=\"status s-(\\w+)\">")]
    private static partial Regex ChangeRow();
}
