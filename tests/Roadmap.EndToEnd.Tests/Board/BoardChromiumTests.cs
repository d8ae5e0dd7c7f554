using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Roadmap.Storage;
using Xunit.Abstractions;

namespace Roadmap.EndToEnd.Tests.Board;

/// <summary>
/// The board at / of the real host, in Debian's headless Chromium: a screenshot, and the DOM Chromium builds, row by
/// row. The database holds known samples and history, and the sources never poll during the test (their cron fires
/// in 2099), so every KPI status is known: met, missed, at risk, on track and no data.
/// </summary>
public sealed partial class BoardChromiumTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Support.TempFolder();
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private BoardHost? _host;
    private string _url = "";

    /// <summary>initiative → (name as written, health in words, KPI id → status label).</summary>
    private static readonly (string Id, string Name, string Health, (string Kpi, string Status)[] Kpis)[] Expected =
    [
        ("cloud", "Migrate to a new cloud provider", "missed", [("uptime", "met"), ("latency", "missed")]),
        ("db", "Optimize <database> & \"queries\"", "at risk", [("query-time", "at_risk"), ("page-load", "on_track"), ("errors", "no_data")]),
        ("security", "Harden <script>alert(\"x\")</script>", "planned", [("breaches", "no_data")]),
    ];

    private string Config() => $$"""
        roadmap:
          name: Board <test> shop
          vision: Every KPI, readable without Grafana.
          goals: [{ id: scale, title: Scale up }]
        settings:
          evaluateEvery: 5s
        sources:
          - { id: web, kind: http, cron: "0 0 0 1 1 ? 2099", url: "http://127.0.0.1:1/web" }
          - { id: db, kind: http, cron: "0 0 0 1 1 ? 2099", url: "http://127.0.0.1:1/db" }
        initiatives:
          - id: cloud
            name: Migrate to a new cloud provider
            goal: scale
            timeline: { start: 2020-01-01, due: 2099-12-31 }
            status: in-progress
            owner: platform-team
            details: Move from on-premise servers to EC2, S3 and RDS.
            dependsOn: [db]
            risks:
              - { risk: Data migration issues, mitigation: A rehearsed migration plan }
              - { risk: Service downtime, mitigation: Blue-green cut-over and a tested rollback }
            kpis:
              - { id: uptime, name: System uptime, source: web, signal: up, aggregate: avg, window: 1h, target: ">= 99.9%", unit: ratio }
              - { id: latency, name: Response time (p95), source: web, signal: latency_seconds, aggregate: p95, window: 1h, target: "<= 0.3", unit: seconds }
          - id: db
            name: Optimize <database> & "queries"
            goal: scale
            timeline: { start: 2020-01-01, due: 2099-12-31 }
            owner: data-team
            details: Slow queries, a cache in front of the catalogue.
            risks:
              - { risk: Data corruption, mitigation: Verified backups }
            kpis:
              - { id: query-time, name: Query time (p95), source: db, signal: latency_seconds, aggregate: p95, window: 1h, target: "<= 0.05", unit: seconds, deadline: 2099-12-31 }
              - { id: page-load, name: Page load, source: web, signal: status_code, aggregate: avg, window: 1h, target: "<= 150", deadline: {{_now.AddDays(5):yyyy-MM-dd}} }
              - { id: errors, name: Errors, source: db, signal: status_code, aggregate: last, window: 1h, target: "== 0", unit: count }
          - id: security
            name: Harden <script>alert("x")</script>
            timeline: 2099-Q1
            dependsOn: [cloud]
            kpis:
              - { id: breaches, name: Breaches, source: db, signal: up, aggregate: last, window: 1h, target: "== 0", unit: count }
        """;

    public async Task InitializeAsync()
    {
        // The last half hour: web always up, slow (0.5 s) and answering 200; db polls fail after 0.1 s. Six hours of
        // page-load history falling by 0.5 an hour to today's 200: about 140 by the deadline in 5 days, within the
        // target of 150, so on track.
        var polls = new[] { 30, 20, 10 }.SelectMany(minutes =>
        {
            var ts = (_now - TimeSpan.FromMinutes(minutes)).ToUnixTimeMilliseconds();
            return new[]
            {
                new PollRecord("web", ts, 0.5, true, null, [new("up", 1), new("latency_seconds", 0.5), new("status_code", 200)]),
                new PollRecord("db", ts, 0.1, false, "connection refused", [new("latency_seconds", 0.1)]),
            };
        });
        _host = await BoardHost.StartAsync(Config(), _dir, polls, BoardHost.FallingHistory("db", "page-load", _now));
        _url = _host.Url;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Board_InHeadlessChromium_ShowsEveryInitiativeAndKpiStatusInItsRow()
    {
        // The API is the same model: it must agree with what the test expects before the page is checked.
        using (var http = new HttpClient())
        {
            var api = await http.GetStringAsync(new Uri(_url + "api/roadmap"));
            using var doc = JsonDocument.Parse(api);
            var statuses = doc.RootElement.GetProperty("initiatives").EnumerateArray()
                .SelectMany(i => i.GetProperty("kpis").EnumerateArray().Select(k => $"{i.GetProperty("id").GetString()}/{k.GetProperty("id").GetString()}={k.GetProperty("status").GetString()}"));
            Assert.Equal(Expected.SelectMany(i => i.Kpis.Select(k => $"{i.Id}/{k.Kpi}={k.Status}")), statuses);
        }

        var (exit, dom, stderr) = await Chromium.DumpDomAsync(_url, Path.Combine(_dir, "profile-dom"));

        Assert.True(exit == 0, $"chromium --dump-dom exited {exit}:\n{stderr}");
        Assert.Contains("<h1>Board &lt;test&gt; shop</h1>", dom);
        Assert.Matches(@"<time datetime=""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z"">", dom);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"5\">", dom);
        // The initiative named with a script tag is text: the only script elements are none.
        Assert.DoesNotMatch("<script[ >]", dom);
        foreach (var (id, name, health, kpis) in Expected)
        {
            var row = Row(dom, id);
            Assert.Contains($"<th scope=\"row\"><span class=\"name\"><a href=\"/initiatives/{id}\">{DomText(name)}</a></span>", row);
            Assert.Contains($"<span class=\"health h-{health.Replace(' ', '_')}\">{health}</span>", row);
            foreach (var (kpi, status) in kpis)
            {
                var item = Regex.Match(row, $"<li data-kpi=\"{kpi}\" data-status=\"{status}\">(.*?)</li>", RegexOptions.Singleline);
                Assert.True(item.Success, $"no {kpi} with status {status} in the row of {id}:\n{row}");
                Assert.StartsWith($"<span class=\"status s-{status}\">{status.Replace('_', ' ')}</span>", item.Groups[1].Value);
            }

            Assert.Equal(kpis.Length, Regex.Count(row, "<li data-kpi="));
        }

        Assert.Contains("<span class=\"blocked\">blocked by <a href=\"#initiative-db\">Optimize &lt;database&gt; &amp; \"queries\"</a></span>", Row(dom, "cloud"));
        Assert.DoesNotContain("blocked by", Row(dom, "db"));
    }

    [Fact]
    public async Task Board_InHeadlessChromium_ScreenshotIsAFullWindowPng()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "board");
        Directory.CreateDirectory(folder);
        var png = Path.Combine(folder, "board.png");
        File.Delete(png);

        var (exit, _, stderr) = await Chromium.ScreenshotAsync(_url, png, Path.Combine(_dir, "profile-shot"));

        Assert.True(exit == 0, $"chromium --screenshot exited {exit}:\n{stderr}");
        Assert.True(File.Exists(png), $"no screenshot at {png}:\n{stderr}");
        var bytes = await File.ReadAllBytesAsync(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.Equal((1400, 1000), (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))));
        // A blank or error page compresses to a few kilobytes; a table of text and badges does not.
        Assert.True(bytes.Length > 50_000, $"the screenshot is only {bytes.Length} bytes: {png}");
        output.WriteLine($"board screenshot: {png} ({bytes.Length.ToString(CultureInfo.InvariantCulture)} bytes)");
    }

    [Fact]
    public async Task Board_Http_IsServedAsHtmlWithoutExternalAssets()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(_url));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("src=", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
    }

    /// <summary>The &lt;tr&gt; of one initiative in the DOM.</summary>
    private static string Row(string dom, string id)
    {
        var m = Regex.Match(dom, $"<tr id=\"initiative-{id}\" data-initiative=\"{id}\"[^>]*>(.*?)</tr>", RegexOptions.Singleline);
        Assert.True(m.Success, $"no row for initiative {id} in the DOM:\n{dom}");
        return m.Groups[1].Value;
    }

    /// <summary>How Chromium serializes a text node: &amp;, &lt; and &gt; escaped, quotes as they are.</summary>
    private static string DomText(string text) => WebUtility.HtmlEncode(text).Replace("&quot;", "\"").Replace("&#39;", "'");
}
