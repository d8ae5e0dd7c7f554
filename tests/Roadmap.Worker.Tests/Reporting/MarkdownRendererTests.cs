using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

public sealed class MarkdownRendererTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Theory]
    [InlineData("a | b", "a \\| b")]
    [InlineData("line one\nline two\r\nthree", "line one line two three")]
    [InlineData("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>")]
    [InlineData("<!-- hidden -->", "&lt;!-- hidden -->")]
    [InlineData("<= 0.3 and < 5 and >= 1", "<= 0.3 and < 5 and >= 1")]
    [InlineData("plain", "plain")]
    public void Escape_Text_IsSafeInATableCell(string text, string expected) =>
        Assert.Equal(expected, MarkdownRenderer.Escape(text));

    [Fact]
    public void Render_NotEvaluated_SaysSoInEveryKpiAndHealth()
    {
        var markdown = MarkdownRenderer.Render(RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty));
        var lines = markdown.Split('\n');

        Assert.Contains("KPIs not evaluated yet.", lines);
        var cloud = lines.Single(l => l.StartsWith("| Migrate", StringComparison.Ordinal));
        Assert.EndsWith(" | System uptime: no value vs >= 99.9%, not evaluated yet<br>Response time: no value vs <= 0.3, not evaluated yet | not evaluated yet |", cloud);
    }

    [Fact]
    public void Render_EveryRow_HasTheEightColumnsOfTheHeader()
    {
        var markdown = MarkdownRenderer.Render(RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty));

        var rows = markdown.Split('\n').Where(l => l.StartsWith('|')).ToList();
        Assert.Equal(5, rows.Count);
        // Unescaped pipes delimit cells: 9 per row for 8 columns.
        Assert.All(rows, r => Assert.Equal(9, System.Text.RegularExpressions.Regex.Count(r, @"(?<!\\)\|")));
    }
}
