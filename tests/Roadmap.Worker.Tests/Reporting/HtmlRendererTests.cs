using System.Text.RegularExpressions;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

public sealed class HtmlRendererTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<string> BoardAsync(TimeSpan? refresh)
    {
        var database = await _f.WriteSamplesAsync();
        return HtmlRenderer.Render(RoadmapViewBuilder.Build(_f.Config, _f.Evaluation(database).EvaluateAll()), refresh);
    }

    [Fact]
    public async Task Render_Board_IsAnAccessibleTableWithHeadersCaptionAndStatusesInWords()
    {
        var html = await BoardAsync(TimeSpan.FromSeconds(15));

        Assert.Contains("<caption>Initiatives of Shop | platform: ", html);
        string[] columns = ["Initiative", "Timeline", "Technical details", "Dependencies", "Risks", "Mitigation", "KPIs (value vs target, status)", "Health"];
        Assert.Contains(string.Concat(columns.Select(c => $"<th scope=\"col\">{c}</th>")), html);
        Assert.Equal(3, Regex.Count(html, "<th scope=\"row\">"));
        Assert.Contains("<td><span class=\"health h-missed\">missed</span><span class=\"blocked\">blocked by <a href=\"#initiative-db-perf\">Optimize database performance</a></span></td>", html);
        Assert.Contains("<td><span class=\"health h-at_risk\">at risk</span></td>", html);
        Assert.Contains("<td><span class=\"health h-planned\">planned</span></td>", html);
        Assert.Contains("<span class=\"figures\">100% (avg over 1h window, 30 min observed) vs target &gt;= 99.9%</span><span class=\"note\">100.0% of the 1h error budget left; 30 min of the window observed</span>", html);
        Assert.Contains("<span class=\"figures\">0.1 s (p95 over 1h window, 30 min observed) vs target &lt;= 0.05 by 2027-03-31</span>", html);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"15\">", html);
        Assert.Contains("This page refreshes every 15 seconds.", html);
    }

    [Fact]
    public async Task Render_ConfigStrings_AreEncoded()
    {
        var html = await BoardAsync(null);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<span class=\"name\">Migrate &lt;script&gt;alert(1)&lt;/script&gt; | cloud</span>", html);
        Assert.Contains("<title>Shop | platform — roadmap</title>", html);
    }

    [Fact]
    public async Task Render_Page_NeedsNoNetwork()
    {
        var html = await BoardAsync(TimeSpan.FromSeconds(15));

        // Inline CSS only: no stylesheet, script, image, font or frame from anywhere.
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(", html);
        Assert.DoesNotContain("//", Regex.Replace(html, "href=\"[/#][^\"]*\"", ""));
        Assert.Contains("<style>", html);
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(5, 5)]
    [InlineData(2.5, 5)]
    [InlineData(15, 15)]
    [InlineData(90.2, 91)]
    public void Render_Refresh_IsEvaluateEveryButAtLeast5Seconds(double evaluateEverySeconds, int expected)
    {
        var html = HtmlRenderer.Render(RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty), TimeSpan.FromSeconds(evaluateEverySeconds));

        Assert.Contains($"<meta http-equiv=\"refresh\" content=\"{expected}\">", html);
    }

    [Fact]
    public void Render_NotEvaluated_SaysSoInWords()
    {
        var html = HtmlRenderer.Render(RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty));

        Assert.Contains("<p class=\"evaluated\">KPIs not evaluated yet.</p>", html);
        Assert.Contains("<li data-kpi=\"uptime\" data-status=\"none\"><span class=\"status s-none\">not evaluated yet</span>", html);
        Assert.DoesNotContain("<time", html);
    }
}
