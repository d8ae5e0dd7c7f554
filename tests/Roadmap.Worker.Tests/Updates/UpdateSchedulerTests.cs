using System.Text.Json.Nodes;
using Roadmap.Storage;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Updates;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.Worker.Tests.Updates;

/// <summary>
/// Scheduled updates against a real local receiver (WireMock.Net) and real files, on a real SQLite database: the
/// rig's statuses three hours ago differ from now (uptime newly met, response time newly missed), query time has a
/// deadline in the next 30 days, and cloud is blocked by db-perf.
/// </summary>
public sealed class UpdateSchedulerTests : IDisposable
{
    private const string Hourly = "0 0 * * * ?";
    private readonly WireMockServer _receiver = WireMockServer.Start();

    public UpdateSchedulerTests() =>
        _receiver.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));

    public void Dispose() => _receiver.Stop();

    private string Hook => $"http://127.0.0.1:{_receiver.Port}/hook";

    private List<WireMock.Logging.ILogEntry> Requests() => [.. _receiver.LogEntries.Where(e => e.RequestMessage.Path == "/hook")];

    private async Task<JsonNode> SendOnceAsync(string format)
    {
        using var rig = new UpdateRig($"[{{ name: weekly, cron: \"{Hourly}\", url: \"{Hook}\", format: {format} }}]");
        await rig.FireAsync();
        Assert.True(Requests().Count == 1, string.Join("\n", rig.Logs));
        var request = Assert.Single(Requests());
        Assert.Equal("POST", request.RequestMessage.Method);
        Assert.StartsWith("application/json", request.RequestMessage.Headers!["Content-Type"].Single(), StringComparison.Ordinal);
        Assert.Equal(1, await rig.DeliveriesAsync("weekly", "success"));
        return JsonNode.Parse(request.RequestMessage.Body!)!;
    }

    [Fact]
    public async Task RunDueAsync_Slack_PostsBlocksWithEachChangeAndTheTable()
    {
        var body = await SendOnceAsync("slack");

        var blocks = body["blocks"]!.AsArray();
        Assert.Equal("header", (string?)blocks[0]!["type"]);
        var texts = blocks.Select(b => (string?)b!["text"]?["text"]).OfType<string>().ToList();
        string Group(string title) => Assert.Single(texts, t => t.StartsWith($"*{title}*\n", StringComparison.Ordinal));
        Assert.Contains("System uptime", Group("Newly met"), StringComparison.Ordinal);
        Assert.Contains("was at risk", Group("Newly met"), StringComparison.Ordinal);
        Assert.Contains("Response time", Group("Newly missed"), StringComparison.Ordinal);
        Assert.Contains("was met", Group("Newly missed"), StringComparison.Ordinal);
        Assert.EndsWith("\nnone", Group("Newly at risk"), StringComparison.Ordinal);
        Assert.Contains("2026-12-15", Group("Deadlines in the next 30 days"), StringComparison.Ordinal);
        Assert.Contains("Database query time", Group("Deadlines in the next 30 days"), StringComparison.Ordinal);
        Assert.Contains("not known", Group("Blocked"), StringComparison.Ordinal);
        var table = Assert.Single(texts, t => t.StartsWith("*The roadmap now*", StringComparison.Ordinal));
        Assert.Contains("Optimize database performance", table, StringComparison.Ordinal);
        Assert.Contains("Implement enhanced security", table, StringComparison.Ordinal);
        // Slack reads <...> as a link or mention: a name's angle brackets are escaped.
        Assert.DoesNotContain(texts, t => t.Contains("<script>", StringComparison.Ordinal));
        Assert.Contains("&lt;script&gt;", table, StringComparison.Ordinal);
        Assert.Contains("1 newly met", (string?)body["text"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunDueAsync_Teams_PostsAnAdaptiveCardWithEachChangeAndAFactPerInitiative()
    {
        var body = await SendOnceAsync("teams");

        Assert.Equal("message", (string?)body["type"]);
        var attachment = Assert.Single(body["attachments"]!.AsArray())!;
        Assert.Equal("application/vnd.microsoft.card.adaptive", (string?)attachment["contentType"]);
        var card = attachment["content"]!;
        Assert.Equal("AdaptiveCard", (string?)card["type"]);
        var items = card["body"]!.AsArray();
        var texts = items.Select(i => (string?)i!["text"]).ToList();
        string After(string title) => texts[texts.IndexOf(title) + 1]!;
        Assert.Contains("System uptime", After("Newly met"), StringComparison.Ordinal);
        Assert.Contains("Response time", After("Newly missed"), StringComparison.Ordinal);
        Assert.Equal("none", After("Newly at risk"));
        Assert.Contains("Database query time", After("Deadlines in the next 30 days"), StringComparison.Ordinal);
        var facts = Assert.Single(items, i => (string?)i!["type"] == "FactSet")!["facts"]!.AsArray();
        Assert.Equal(
            ["Migrate <script>alert(1)</script> | cloud", "Optimize database performance", "Implement enhanced security"],
            facts.Select(f => (string?)f!["title"]));
        Assert.Contains("blocked by Optimize database performance", (string?)facts[0]!["value"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunDueAsync_Mattermost_PostsMarkdownWithTheChangesAndTheTable()
    {
        var body = await SendOnceAsync("mattermost");

        var text = (string)body["text"]!;
        var lines = text.Split('\n');
        var met = lines[Array.IndexOf(lines, "**Newly met**") + 1];
        Assert.StartsWith("- ", met, StringComparison.Ordinal);
        Assert.Contains("System uptime", met, StringComparison.Ordinal);
        var missed = lines[Array.IndexOf(lines, "**Newly missed**") + 1];
        Assert.Contains("Response time", missed, StringComparison.Ordinal);
        Assert.Contains("**Newly at risk**: none", lines);
        Assert.Contains(MarkdownRenderer.HeaderRow, lines);
        Assert.True(Array.IndexOf(lines, "**Newly met**") < Array.IndexOf(lines, MarkdownRenderer.HeaderRow), "the changes come before the table");
    }

    [Fact]
    public async Task RunDueAsync_Json_PostsTheChangesAsDataAndTheApiDocument()
    {
        var body = await SendOnceAsync("json");

        Assert.Equal("2026-11-26T10:00:00Z", (string?)body["since"]);
        Assert.Equal("2026-11-26T12:00:00Z", (string?)body["at"]);
        var changes = body["changes"]!;
        var met = Assert.Single(changes["newlyMet"]!.AsArray())!;
        Assert.Equal(("cloud", "uptime", "at_risk", "met"), ((string?)met["initiative"], (string?)met["kpi"], (string?)met["from"], (string?)met["to"]));
        var missed = Assert.Single(changes["newlyMissed"]!.AsArray())!;
        Assert.Equal(("latency", "met", "missed"), ((string?)missed["kpi"], (string?)missed["from"], (string?)missed["to"]));
        Assert.Empty(changes["newlyAtRisk"]!.AsArray());
        Assert.Null(changes["blocked"]);
        var deadline = Assert.Single(changes["deadlines"]!.AsArray())!;
        Assert.Equal(("2026-12-15", "query-time", "at_risk"), ((string?)deadline["date"], (string?)deadline["kpi"], (string?)deadline["status"]));
        Assert.Equal(["cloud", "db-perf", "security"], body["table"]!["initiatives"]!.AsArray().Select(i => (string?)i!["id"]));
    }

    [Fact]
    public async Task RunDueAsync_MarkdownFile_WritesTheChangesThenTheTable()
    {
        var path = Path.Combine(Path.GetTempPath(), "roadmap-worker-tests", $"{Guid.NewGuid():N}.md");
        using var rig = new UpdateRig($"[{{ name: wiki, cron: \"{Hourly}\", file: \"{path}\", format: markdown }}]");
        try
        {
            await rig.FireAsync();

            var lines = File.ReadAllLines(path);
            Assert.Equal("## What changed since 2026-11-26T10:00:00Z", lines[0]);
            var met = lines[Array.IndexOf(lines, "**Newly met**") + 1];
            Assert.Contains("System uptime", met, StringComparison.Ordinal);
            Assert.Contains("(was at risk)", met, StringComparison.Ordinal);
            Assert.Contains(MarkdownRenderer.HeaderRow, lines);
            Assert.Equal(1, await rig.DeliveriesAsync("wiki", "success"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task RunDueAsync_HtmlFile_WritesThePageWithTheChangesAboveTheTable()
    {
        var path = Path.Combine(Path.GetTempPath(), "roadmap-worker-tests", $"{Guid.NewGuid():N}.html");
        using var rig = new UpdateRig($"[{{ name: board, cron: \"{Hourly}\", file: \"{path}\", format: html }}]");
        try
        {
            await rig.FireAsync();

            var html = File.ReadAllText(path);
            Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
            var section = html[html.IndexOf("<section class=\"changes\">", StringComparison.Ordinal)..html.IndexOf("</section>", StringComparison.Ordinal)];
            var met = section[section.IndexOf("<h3>Newly met</h3>", StringComparison.Ordinal)..section.IndexOf("<h3>Newly at risk</h3>", StringComparison.Ordinal)];
            Assert.Contains("<li>", met, StringComparison.Ordinal);
            Assert.Contains("System uptime", met, StringComparison.Ordinal);
            Assert.True(html.IndexOf("</section>", StringComparison.Ordinal) < html.IndexOf("<table>", StringComparison.Ordinal), "the changes come before the table");
            Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task RunDueAsync_FileIsAFifo_ReplacesItWithoutOpeningIt()
    {
        var path = Path.Combine(Path.GetTempPath(), "roadmap-worker-tests", $"{Guid.NewGuid():N}.md");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Roadmap.Core.Tests.Config.Fifo.Create(path);
        using var rig = new UpdateRig($"[{{ name: wiki, cron: \"{Hourly}\", file: \"{path}\", format: markdown }}]");
        try
        {
            // Opening a FIFO for writing waits for a reader: bounded here, far past what a rename takes.
            await rig.FireAsync().WaitAsync(TimeSpan.FromSeconds(60));

            // Read as a regular file: were it still the FIFO, the read would wait for a writer (bounded too).
            var text = await Task.Run(() => File.ReadAllText(path)).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.StartsWith("## What changed since", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task RunDueAsync_AfterRestartAndDowntime_NeitherRepeatsNorSkips()
    {
        using var rig = new UpdateRig($"[{{ name: weekly, cron: \"{Hourly}\", url: \"{Hook}\", format: json }}]");
        await rig.FireAsync();
        Assert.Single(Requests());

        // A restart at the same hour: the fire at 12:00 was sent and is not sent again.
        rig.Restart();
        var (again, sender) = rig.Scheduler();
        using (sender)
        {
            rig.Evaluate();
            await again.RunDueAsync(CancellationToken.None);
        }

        Assert.Single(Requests());

        // Down over the fires at 13:00, 14:00 and 15:00, started at 15:30 with db-perf declared done: one update,
        // covering everything since the one at 12:00, and cloud no longer blocked.
        rig.Time.SetUtcNow(UpdateRig.Now + TimeSpan.FromHours(3.5));
        rig.Restart();
        var done = rig.Variant(y => y.Replace("name: Optimize database performance\n", "name: Optimize database performance\n    status: done\n", StringComparison.Ordinal));
        var (later, laterSender) = rig.Scheduler(config: done);
        using (laterSender)
        {
            rig.Evaluate();
            await later.RunDueAsync(CancellationToken.None);
            await later.RunDueAsync(CancellationToken.None);
        }

        var requests = Requests();
        Assert.Equal(2, requests.Count);
        var second = JsonNode.Parse(requests[1].RequestMessage.Body!)!;
        Assert.Equal("2026-11-26T12:00:00Z", (string?)second["since"]);
        Assert.Equal("2026-11-26T15:30:00Z", (string?)second["at"]);
        Assert.Empty(second["changes"]!["blocked"]!.AsArray());
        Assert.Equal("cloud", (string?)Assert.Single(second["changes"]!["unblocked"]!.AsArray())!["initiative"]);
        var last = rig.Database!.Updates.Last("weekly")!;
        Assert.Equal((UpdateRig.Now + TimeSpan.FromHours(3)).ToUnixTimeMilliseconds(), last.FireTs);
        Assert.Equal(IUpdateStore.Success, last.Outcome);
    }

    [Fact]
    public async Task RunDueAsync_BeforeTheFirstEvaluationRound_WaitsForIt()
    {
        using var rig = new UpdateRig($"[{{ name: weekly, cron: \"{Hourly}\", url: \"{Hook}\", format: json }}]");
        await rig.SeedAsync();
        var (scheduler, sender) = rig.Scheduler();
        using (sender)
        {
            await scheduler.RunDueAsync(CancellationToken.None);
            rig.Time.SetUtcNow(UpdateRig.Now);
            await scheduler.RunDueAsync(CancellationToken.None);
            Assert.Empty(Requests());

            rig.Evaluate();
            await scheduler.RunDueAsync(CancellationToken.None);
        }

        Assert.Single(Requests());
    }

    [Theory]
    [InlineData("0 0 * * * ?", "2026-11-26T12:00:00Z", "2026-11-26T15:30:00Z", "2026-11-26T15:00:00Z")]
    [InlineData("0 0 * * * ?", "2026-11-26T15:00:00Z", "2026-11-26T15:30:00Z", null)]
    [InlineData("* * * * * ?", "2025-11-26T15:30:00Z", "2026-11-26T15:30:00Z", "2026-11-26T15:30:00Z")]
    [InlineData("0 0 9 1 1 ?", "2024-06-01T00:00:00Z", "2026-11-26T15:30:00Z", "2026-01-01T09:00:00Z")]
    [InlineData("0 0 9 ? * MON", "2026-11-16T09:00:00Z", "2026-11-26T15:30:00Z", "2026-11-23T09:00:00Z")]
    public void DueFire_SinceTheLastHandled_IsTheLatestFireAtOrBeforeNow(string cron, string handled, string now, string? due)
    {
        var fire = UpdateScheduler.DueFire(new Quartz.CronExpression(cron, TimeZoneInfo.Utc), DateTimeOffset.Parse(handled, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(due is null ? null : DateTimeOffset.Parse(due, System.Globalization.CultureInfo.InvariantCulture), fire);
    }
}
