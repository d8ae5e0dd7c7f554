using System.Text.Json;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

/// <summary>The board's banner and the API's <c>config</c> object after a reload.</summary>
public sealed class ConfigStatusViewTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 12, 5, 8, 30, 15, TimeSpan.Zero);
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private RoadmapView View(ConfigReload? last) =>
        RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty) with { Config = ConfigStatusView.Of("/etc/roadmap/<shop>.yaml", last) };

    [Fact]
    public void Render_FailedReload_ShowsFileTimeCountAndFirstErrorsEncoded()
    {
        string[] errors = ["/etc/roadmap/<shop>.yaml:3:1: unknown key \"<script>alert(1)</script>\"", "/etc/roadmap/<shop>.yaml:9:5: bad duration \"2x\""];
        var html = HtmlRenderer.Render(View(ConfigReload.Failed(_f.Config, At, errors, 8)), TimeSpan.FromSeconds(15));

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<div class=\"reload-failed\" role=\"alert\" id=\"config-reload\"><strong>The config file /etc/roadmap/&lt;shop&gt;.yaml did not reload</strong>", html);
        Assert.Contains("<time datetime=\"2026-12-05T08:30:15Z\">2026-12-05 08:30:15 UTC</time>: 8 errors;", html);
        Assert.Contains("<li>/etc/roadmap/&lt;shop&gt;.yaml:3:1: unknown key &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</li>", html);
        Assert.Contains("<li>/etc/roadmap/&lt;shop&gt;.yaml:9:5: bad duration &quot;2x&quot;</li>", html);
        Assert.Contains("<li>… and 6 more in the log</li>", html);
        // At the top: before the page's heading.
        Assert.True(html.IndexOf("reload-failed\"", StringComparison.Ordinal) < html.IndexOf("<h1>", StringComparison.Ordinal));
    }

    [Fact]
    public void Render_SucceededOrNoReload_ShowsNoBanner()
    {
        Assert.DoesNotContain("class=\"reload-failed\"", HtmlRenderer.Render(View(ConfigReload.Succeeded("/etc/roadmap/shop.yaml", At))));
        Assert.DoesNotContain("class=\"reload-failed\"", HtmlRenderer.Render(View(null)));
    }

    [Fact]
    public void Json_FailedReload_IsTheConfigObjectWithLastReload()
    {
        using var doc = JsonDocument.Parse(JsonRenderer.Render(View(ConfigReload.Failed(_f.Config, At, ["f:1:1: x"], 1))));

        var config = doc.RootElement.GetProperty("config");
        Assert.Equal(["file", "lastReload"], config.EnumerateObject().Select(p => p.Name));
        Assert.Equal("/etc/roadmap/<shop>.yaml", config.GetProperty("file").GetString());
        var reload = config.GetProperty("lastReload");
        Assert.Equal(["at", "success", "errorCount", "errors"], reload.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2026-12-05T08:30:15Z", reload.GetProperty("at").GetString());
        Assert.False(reload.GetProperty("success").GetBoolean());
        Assert.Equal(["f:1:1: x"], reload.GetProperty("errors").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Json_Report_HasANullConfig()
    {
        using var doc = JsonDocument.Parse(JsonRenderer.Render(RoadmapViewBuilder.Build(_f.Config, RoadmapSnapshot.Empty)));

        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("config").ValueKind);
    }
}
