using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Xunit.Abstractions;

namespace Roadmap.EndToEnd.Tests.Board;

/// <summary>
/// The board's timeline and sparklines and the initiative page, on the real host, in headless Chromium driven over the
/// DevTools protocol at a projector's 1920×1080 and a phone's 390×844: where the bars really are laid out against
/// their dates, their computed colours against the table's health, the today line, the sparkline's points against the
/// stored evaluations, every request the page makes, and whether any word of the Health column is split across lines.
/// Screenshots go to TestResults/board/ at the repository root (ignored by git). The sources never poll (their cron
/// fires in 2099), so what is shown comes from the samples and evaluations the test stored.
/// </summary>
public sealed class BoardVisualsChromiumTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Support.TempFolder();
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private BoardHost? _host;
    private RoadmapDatabase? _database;
    private string _url = "";

    private DateOnly Today => DateOnly.FromDateTime(_now.UtcDateTime);

    /// <summary>Each initiative's timeline, relative to today.</summary>
    private (DateOnly Start, DateOnly Due) Dates(string id) => id switch
    {
        "perf" => (Today.AddDays(-100), Today.AddDays(20)),
        "cloud" => (Today.AddDays(-30), Today.AddDays(150)),
        _ => (Today.AddDays(160), Today.AddDays(250)),
    };

    private static readonly (string Id, string Health)[] Expected = [("perf", "on_track"), ("cloud", "missed"), ("security", "planned")];

    private string Config() => $$"""
        roadmap:
          name: Visual shop
        settings:
          evaluateEvery: 5s
        sources:
          - { id: web, kind: http, cron: "0 0 0 1 1 ? 2099", url: "http://127.0.0.1:1/web" }
        initiatives:
          - id: perf
            name: Performance optimization
            timeline: { start: {{D(Dates("perf").Start)}}, due: {{D(Dates("perf").Due)}} }
            status: in-progress
            risks:
              - { risk: Caches serve stale prices, mitigation: Short TTLs and purge on change }
            kpis:
              - { id: page-load, name: Page load, source: web, signal: status_code, aggregate: avg, window: 1d, target: "<= 150", deadline: {{D(Today.AddDays(5))}} }
          - id: cloud
            name: Cloud migration
            timeline: { start: {{D(Dates("cloud").Start)}}, due: {{D(Dates("cloud").Due)}} }
            status: in-progress
            dependsOn: [perf]
            kpis:
              - { id: uptime, name: System uptime, source: web, signal: up, aggregate: avg, window: 1h, target: ">= 99.9%", unit: ratio }
              - { id: latency, name: Response time (p95), source: web, signal: latency_seconds, aggregate: p95, window: 1h, target: "<= 0.3", unit: seconds }
          - id: security
            name: Enhanced security
            timeline: { start: {{D(Dates("security").Start)}}, due: {{D(Dates("security").Due)}} }
            dependsOn: [cloud]
            kpis:
              - { id: breaches, name: Breaches, source: web, signal: up, aggregate: last, window: 1h, target: "== 0", unit: count }
        """;

    private static string D(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public async Task InitializeAsync()
    {
        // The last half hour: web up, slow (0.5 s), answering 200; six hours of page-load history falling towards
        // today's 200: on track for 150 by the deadline in 5 days.
        var polls = new[] { 30, 20, 10 }.Select(minutes => new PollRecord(
            "web", (_now - TimeSpan.FromMinutes(minutes)).ToUnixTimeMilliseconds(), 0.5, true, null, [new("up", 1), new("latency_seconds", 0.5), new("status_code", 200)]));
        _host = await BoardHost.StartAsync(Config(), _dir, polls, BoardHost.FallingHistory("perf", "page-load", _now));
        _url = _host.Url;
        _database = _host.Database;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    public static TheoryData<int, int, bool> Screens() => new() { { 1920, 1080, false }, { 390, 844, true } };

    [Theory]
    [MemberData(nameof(Screens))]
    public async Task Board_Timeline_BarsSitAtTheirDatesInTheirHealthColourWithTheTodayLineAndOneRequest(int width, int height, bool mobile)
    {
        await AssertHealthsAsync();
        await using var chromium = await DevTools.StartAsync(Path.Combine(_dir, $"profile-{width}"), width, height, mobile);

        var requests = Page(await chromium.NavigateAsync(_url));
        var layout = await chromium.EvaluateAsync(TimelineLayout);
        var screenshot = await chromium.ScreenshotAsync();

        // One request, for the page itself: no stylesheet, font, image or script, and nothing to another origin.
        Assert.Equal([_url], requests);
        Assert.Equal(0, layout.GetProperty("scripts").GetInt32());
        Assert.Equal(0, layout.GetProperty("sources").GetInt32());
        Assert.Equal(0, layout.GetProperty("foreignLinks").GetInt32());

        // The axis: from the first day of the first quarter any timeline touches to the end of the last.
        var from = QuarterStart(Dates("perf").Start);
        var to = QuarterStart(Dates("security").Due).AddMonths(3);
        Assert.Equal(D(from), layout.GetProperty("from").GetString());
        double days = to.DayNumber - from.DayNumber;

        var rows = layout.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.Equal(Expected.Select(e => e.Id).Order(), rows.Keys.Order());
        foreach (var (id, health) in Expected)
        {
            var row = rows[id];
            var (trackLeft, trackWidth) = (row.GetProperty("trackLeft").GetDouble(), row.GetProperty("trackWidth").GetDouble());
            var (start, due) = Dates(id);
            Assert.Equal(health, row.GetProperty("health").GetString());
            Near(trackLeft + (trackWidth * (start.DayNumber - from.DayNumber) / days), row.GetProperty("barLeft").GetDouble(), 1.5, $"{id}: bar start at {width}px");
            Near(trackLeft + (trackWidth * (due.AddDays(1).DayNumber - from.DayNumber) / days), row.GetProperty("barRight").GetDouble(), 1.5, $"{id}: bar end at {width}px");
            // Coloured by health: the same colours as the table's health badge of that initiative.
            Assert.Equal(row.GetProperty("tableColour").GetString(), row.GetProperty("barColour").GetString());
            Assert.Equal(row.GetProperty("tableBorder").GetString(), row.GetProperty("barBorder").GetString());
            var todayDays = (_now - new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)).TotalDays;
            Near(trackLeft + (trackWidth * todayDays / days), row.GetProperty("today").GetDouble(), 2, $"{id}: today line at {width}px");
            // Usable on a phone: every track lies within the window.
            Assert.True(trackLeft >= 0 && trackLeft + trackWidth <= width + 0.5, $"{id}: track {trackLeft}+{trackWidth} outside {width}px");
            Assert.True(row.GetProperty("labelFontPx").GetDouble() >= 12, $"{id}: label font {row.GetProperty("labelFontPx")}");
        }

        Assert.Equal(3, rows.Values.Select(r => r.GetProperty("barColour").GetString()).Distinct().Count());
        // Blocked: cloud is in progress while perf is not done; its bar is marked and the row names the blocker.
        Assert.True(rows["cloud"].GetProperty("blocked").GetBoolean());
        Assert.False(rows["perf"].GetProperty("blocked").GetBoolean());
        Assert.Contains("blocked by Performance optimization", rows["cloud"].GetProperty("label").GetString());
        // The dependency: a mark in cloud's row where perf is due, red since perf is due after cloud started.
        var dep = rows["cloud"].GetProperty("deps").EnumerateArray().Single();
        Assert.Equal("perf", dep.GetProperty("id").GetString());
        Assert.True(dep.GetProperty("late").GetBoolean());
        var cloud = rows["cloud"];
        Near(cloud.GetProperty("trackLeft").GetDouble() + (cloud.GetProperty("trackWidth").GetDouble() * (Dates("perf").Due.AddDays(1).DayNumber - from.DayNumber) / days), dep.GetProperty("x").GetDouble(), 1.5, "perf's due mark in cloud's row");
        // No sideways scrolling of the page itself (the table scrolls inside its own box).
        Assert.True(layout.GetProperty("pageWidth").GetDouble() <= width + 0.5, $"the page is {layout.GetProperty("pageWidth")}px wide in a {width}px window");

        Save(screenshot, $"board-{width}x{height}.png", width, height);
    }

    [Theory]
    [MemberData(nameof(Screens))]
    public async Task Board_HealthColumn_SplitsNoWordAcrossLines(int width, int height, bool mobile)
    {
        await using var chromium = await DevTools.StartAsync(Path.Combine(_dir, $"profile-health-{width}"), width, height, mobile);
        await chromium.NavigateAsync(_url);

        var health = await chromium.EvaluateAsync(SplitWords);

        Assert.Contains("Performance", health.GetProperty("words").EnumerateArray().Select(w => w.GetString()));
        Assert.Empty(health.GetProperty("split").EnumerateArray().Select(w => w.GetString()));
    }

    [Fact]
    public async Task Board_Sparkline_PlotsTheStoredEvaluationsAgainstTheTargetWithTheForecastBand()
    {
        // Uptime has no stored history: its sparkline appears once the evaluator has stored a round (every 5 s), which
        // a fast page load can precede.
        Assert.True(await SparklineShownAsync("uptime"), "no sparkline for uptime on the board within 30 s");
        await using var chromium = await DevTools.StartAsync(Path.Combine(_dir, "profile-spark"), 1920, 1080, mobile: false);
        await chromium.NavigateAsync(_url);

        var spark = await chromium.EvaluateAsync(Spark("page-load"));
        var uptime = await chromium.EvaluateAsync(Spark("uptime"));

        var from = DateTimeOffset.Parse(spark.GetProperty("from").GetString()!, CultureInfo.InvariantCulture);
        var to = DateTimeOffset.Parse(spark.GetProperty("to").GetString()!, CultureInfo.InvariantCulture);
        // The KPI's window is a day: the sparkline covers it, to the render.
        Assert.Equal(TimeSpan.FromDays(1), to - from);
        var stored = _database!.Evaluations.History("perf", "page-load", from, to).Where(e => e.Value is not null).ToList();
        Assert.True(stored.Count >= 12, $"{stored.Count} stored evaluations");
        var points = spark.GetProperty("points").GetString()!.Split(' ')
            .Select(p => p.Split(',')).Select(p => (X: double.Parse(p[0], CultureInfo.InvariantCulture), Y: double.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(stored.Count, points.Count);
        // x is linear in time and y in value (higher value, higher on screen): each point sits where its evaluation's
        // time and value put it between the first and the last.
        var (first, last) = (stored[0], stored[^1]);
        for (var n = 0; n < stored.Count; n++)
        {
            var t = (stored[n].TimestampMs - first.TimestampMs) / (double)(last.TimestampMs - first.TimestampMs);
            var v = (stored[n].Value!.Value - first.Value!.Value) / (last.Value!.Value - first.Value!.Value);
            Near(points[0].X + (t * (points[^1].X - points[0].X)), points[n].X, 0.02, $"point {n} x");
            Near(points[0].Y + (v * (points[^1].Y - points[0].Y)), points[n].Y, 0.02, $"point {n} y");
        }

        Assert.True(points[^1].Y < points[0].Y == last.Value > first.Value, "a higher value is drawn higher");
        // The target line is on the same value scale: 150 is below every stored value.
        // (Coordinates are written to 0.01: extrapolating that far from the values' range scales the rounding.)
        var targetY = spark.GetProperty("targetY").GetDouble();
        var ratio = (150 - first.Value!.Value) / (last.Value!.Value - first.Value!.Value);
        Near(points[0].Y + (ratio * (points[^1].Y - points[0].Y)), targetY, 0.01 * (1 + (2 * Math.Abs(ratio))), "target line");
        // The deadline is ahead: a forecast line and its band leave the last point.
        Assert.True(spark.GetProperty("band").GetBoolean());
        Assert.True(spark.GetProperty("forecast").GetBoolean());
        Assert.Contains("forecast", spark.GetProperty("label").GetString());
        // No deadline, no forecast.
        Assert.False(uptime.GetProperty("band").GetBoolean());
        Assert.False(uptime.GetProperty("forecast").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Screens))]
    public async Task InitiativePage_InChromium_ChartsHistoryWithRangeLinksAndOneRequest(int width, int height, bool mobile)
    {
        await using var chromium = await DevTools.StartAsync(Path.Combine(_dir, $"profile-page-{width}"), width, height, mobile);
        var board = Page(await chromium.NavigateAsync(_url));
        Assert.Single(board);

        var requests = Page(await chromium.NavigateAsync(_url + "initiatives/perf?range=7d"));
        var page = await chromium.EvaluateAsync("""
            JSON.parse(JSON.stringify({
              title: document.querySelector('h1').textContent,
              current: document.querySelector('nav.ranges [aria-current=page]')?.textContent,
              ranges: [...document.querySelectorAll('nav.ranges a')].map(a => a.getAttribute('href')),
              points: document.querySelector('section[data-kpi=page-load] polyline.spark-line')?.getAttribute('points').split(' ').length,
              evaluations: Number(document.querySelector('section[data-kpi=page-load]').dataset.evaluations),
              neededBy: document.querySelector('dd.needed-by').textContent,
              risk: document.querySelector('table.risks tbody').textContent,
              chartRight: document.querySelector('section[data-kpi=page-load] svg').getBoundingClientRect().right,
              risksRight: document.querySelector('table.risks').getBoundingClientRect().right,
              pageWidth: document.scrollingElement.scrollWidth,
              scripts: document.scripts.length
            }))
            """);
        var screenshot = await chromium.ScreenshotAsync();

        Assert.Equal([_url + "initiatives/perf?range=7d"], requests);
        Assert.Equal(0, page.GetProperty("scripts").GetInt32());
        Assert.Equal("Performance optimization", page.GetProperty("title").GetString());
        Assert.Equal("7 days", page.GetProperty("current").GetString());
        Assert.Equal(["/initiatives/perf?range=30d", "/initiatives/perf?range=quarter"], page.GetProperty("ranges").EnumerateArray().Select(a => a.GetString()));
        var stored = _database!.Evaluations.History("perf", "page-load", _now.AddDays(-8), DateTimeOffset.UtcNow);
        Assert.Equal(stored.Count, page.GetProperty("evaluations").GetInt32());
        // Over 7 days a chart point stands for 7 d / ChartPoints: the half-hourly history is thinned, never padded.
        Assert.InRange(page.GetProperty("points").GetInt32(), 1, stored.Count(s => s.Value is not null));
        Assert.Equal("Cloud migration", page.GetProperty("neededBy").GetString());
        Assert.Contains("Short TTLs and purge on change", page.GetProperty("risk").GetString());
        Assert.True(page.GetProperty("chartRight").GetDouble() <= width + 0.5, $"chart ends at {page.GetProperty("chartRight")} in {width}px");
        Assert.True(page.GetProperty("pageWidth").GetDouble() <= width + 0.5, $"page is {page.GetProperty("pageWidth")}px wide in {width}px");
        // The risks and their mitigations are read without scrolling sideways.
        Assert.True(page.GetProperty("risksRight").GetDouble() <= width + 0.5, $"the risks table ends at {page.GetProperty("risksRight")} in {width}px");
        Save(screenshot, $"initiative-{width}x{height}.png", width, height);
    }

    /// <summary>The statuses the test counts on, checked through the API before any page is.</summary>
    /// <summary>Whether the board draws a sparkline for <paramref name="kpi"/> within 30 s.</summary>
    private async Task<bool> SparklineShownAsync(string kpi)
    {
        using var http = new HttpClient();
        for (var i = 0; i < 300; i++)
        {
            if ((await http.GetStringAsync(new Uri(_url))).Contains($"<svg class=\"spark\" data-trend=\"{kpi}\"", StringComparison.Ordinal))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private async Task AssertHealthsAsync()
    {
        using var http = new HttpClient();
        using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri(_url + "api/roadmap")));
        var healths = doc.RootElement.GetProperty("initiatives").EnumerateArray().Select(i => (i.GetProperty("id").GetString()!, i.GetProperty("health").GetString()!));
        Assert.Equal(Expected, healths);
    }

    private void Save(byte[] png, string name, int width, int height)
    {
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Equal((width, height), (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));
        var folder = Path.Combine(Support.RepositoryRoot(), "TestResults", "board");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, png);
        output.WriteLine($"screenshot: {path} ({png.Length.ToString(CultureInfo.InvariantCulture)} bytes)");
    }

    /// <summary>The requests of the page: all but /favicon.ico, which the browser asks for on its own (the page names no icon).</summary>
    private List<string> Page(IReadOnlyList<string> requests) => requests.Where(r => r != _url + "favicon.ico").ToList();

    private static DateOnly QuarterStart(DateOnly d) => new(d.Year, (((d.Month - 1) / 3) * 3) + 1, 1);

    private static void Near(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:0.###}, was {actual:0.###}");

    /// <summary>The timeline as laid out: each row's track, bar, today line and dependency marks, in CSS pixels.</summary>
    private const string TimelineLayout = """
        (() => {
          const rect = e => e.getBoundingClientRect();
          const tl = document.querySelector('.tl');
          return JSON.parse(JSON.stringify({
            from: tl.dataset.from,
            scripts: document.querySelectorAll('script').length,
            sources: document.querySelectorAll('[src], link, object, embed, iframe').length,
            foreignLinks: [...document.querySelectorAll('[href]')].filter(a => new URL(a.getAttribute('href'), location.href).origin !== location.origin).length,
            pageWidth: document.scrollingElement.scrollWidth,
            rows: [...tl.querySelectorAll('.tl-row[data-initiative]')].map(row => {
              const track = row.querySelector('.tl-track'), bar = row.querySelector('.tl-bar'), today = row.querySelector('.tl-today');
              const badge = document.querySelector(`#initiative-${row.dataset.initiative} td:last-child .health`);
              return {
                id: row.dataset.initiative, health: row.dataset.health, label: row.querySelector('.tl-label').textContent,
                trackLeft: rect(track).left, trackWidth: rect(track).width, barLeft: rect(bar).left, barRight: rect(bar).right,
                barColour: getComputedStyle(bar).backgroundColor, barBorder: getComputedStyle(bar).borderTopColor,
                tableColour: getComputedStyle(badge).backgroundColor, tableBorder: getComputedStyle(badge).borderTopColor,
                today: rect(today).left,
                blocked: bar.classList.contains('tl-is-blocked'),
                labelFontPx: parseFloat(getComputedStyle(row.querySelector('.tl-label')).fontSize),
                deps: [...row.querySelectorAll('.tl-dep')].map(d => ({ id: d.dataset.dependency, late: d.classList.contains('tl-late'), x: rect(d).left + parseFloat(getComputedStyle(d).marginLeft) * -1 }))
              };
            })
          }));
        })()
        """;

    /// <summary>Every word of the Health column, and those whose letters lie on more than one line.</summary>
    private const string SplitWords = """
        (() => {
          const words = [], split = [];
          for (const cell of document.querySelectorAll('tbody tr > td:last-child')) {
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              for (const m of node.textContent.matchAll(/\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
                words.push(m[0]);
                if (lines.size > 1) split.push(m[0]);
              }
            }
          }
          return { words, split };
        })()
        """;

    private static string Spark(string kpi) => $$"""
        (() => {
          const svg = document.querySelector('li[data-kpi="{{kpi}}"] svg.spark');
          const target = svg.querySelector('.spark-target');
          return {
            from: svg.dataset.from, to: svg.dataset.to, label: svg.getAttribute('aria-label'),
            points: svg.querySelector('polyline.spark-line').getAttribute('points'),
            targetY: target ? Number(target.getAttribute('y1')) : null,
            band: !!svg.querySelector('polygon.spark-band'), forecast: !!svg.querySelector('line.spark-forecast')
          };
        })()
        """;
}
