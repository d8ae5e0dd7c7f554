using System.Globalization;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Hosting;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests.Board;

/// <summary>
/// The real host in this process (Kestrel, Quartz, SQLite, the config watcher): a source that fails shows why on the
/// board and in the API, and a config file that stops parsing shows a banner until a good one replaces it.
/// </summary>
public sealed class ReasonsAndReloadTests : IDisposable
{
    private const string Canary = "canary-reason-3c9d1e7a5b";
    private const string Banner = "<div class=\"reload-failed\"";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _dir = Support.TempFolder();
    private readonly WireMockServer _prometheus = WireMockServer.Start();
    private readonly int _closedPort = Support.FreePort();

    public ReasonsAndReloadTests()
    {
        // A hostile server: its error quotes markup and echoes every header value it was sent, the credential too.
        static string Echo(WireMock.IRequestMessage r) => JsonEncodedText.Encode(
            string.Join(" ", (r.Headers ?? new Dictionary<string, WireMock.Types.WireMockList<string>>()).SelectMany(h => h.Value))).ToString();
        _prometheus.Given(Request.Create().WithPath("/api/v1/query"))
            .RespondWith(Response.Create().WithStatusCode(400).WithHeader("Content-Type", "application/json")
                .WithBody(r => $"{{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"<script>alert(1)</script> denied for {Echo(r)}\"}}"));
    }

    private string ConfigPath => Path.Combine(_dir, "roadmap.yaml");

    public void Dispose()
    {
        _prometheus.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string Config(string name) => $$"""
        roadmap: { name: {{name}} }
        settings: { evaluateEvery: 1s }
        sources:
          - { id: rum, kind: prometheus, every: 1s, timeout: 900ms, url: "{{_prometheus.Url}}", query: "bounce_rate", headers: { Authorization: "Bearer {{Canary}}" } }
          - { id: site, kind: http, every: 1s, timeout: 500ms, url: "http://127.0.0.1:{{_closedPort}}/healthz" }
        initiatives:
          - id: frontend
            name: Frontend performance
            kpis:
              - { id: bounce, source: rum, signal: value, aggregate: last, window: 1h, target: "<= 0.4" }
              - { id: uptime, source: site, signal: up, aggregate: avg, window: 1h, target: ">= 99.9%" }
        """;

    private static async Task ReplaceAsync(string path, string text)
    {
        // As editors save: a temporary file renamed over the config.
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    private async Task<(WebApplication App, HttpClient Http, string Database)> StartAsync()
    {
        await File.WriteAllTextAsync(ConfigPath, Config("Shop"));
        var loaded = new ConfigLoader(SourceKinds.All).LoadFile(ConfigPath);
        Assert.Empty(loaded.Errors);
        var dbPath = Path.Combine(_dir, "data", "roadmap.db");
        var app = RoadmapApp.Build(new RunOptions { Urls = "http://127.0.0.1:0", DatabasePath = dbPath }, loaded.Config!, RoadmapDatabase.Open(dbPath));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new HttpClient { BaseAddress = new Uri(address) }, dbPath);
    }

    private static JsonElement Kpi(JsonDocument roadmap, string id) =>
        roadmap.RootElement.GetProperty("initiatives")[0].GetProperty("kpis").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);

    private static long FirstPollMs(string database, string source)
    {
        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly");
        db.Open();
        return db.ExecuteScalar<long>("SELECT min(ts) FROM polls WHERE source = @source;", new { source });
    }

    [Fact]
    public async Task Host_SourcesFailing_BoardAndApiSayWhyWithTheRedactedEscapedErrorAndSinceWhen()
    {
        var (app, http, database) = await StartAsync();
        await using var _ = app;
        using var __ = http;

        JsonDocument? roadmap = null;
        Assert.True(
            await Support.EventuallyAsync(
                async () =>
                {
                    roadmap?.Dispose();
                    roadmap = JsonDocument.Parse(await http.GetStringAsync("/api/roadmap"));
                    return new[] { "bounce", "uptime" }.All(k => Kpi(roadmap, k).GetProperty("reason") is { ValueKind: JsonValueKind.Object } r
                        && r.GetProperty("code").GetString() == "source_failing");
                },
                Patience),
            "no source_failing reasons:\n" + roadmap?.RootElement.GetRawText());
        using var doc = roadmap!;
        var board = await http.GetStringAsync("/");
        var initiative = await http.GetStringAsync("/api/initiatives/frontend");

        // The trap was armed: the server echoed the credential.
        Assert.Contains(_prometheus.LogEntries, e => e.ResponseMessage.BodyData?.BodyAsString?.Contains(Canary, StringComparison.Ordinal) == true);
        foreach (var (kpi, source) in new[] { ("bounce", "rum"), ("uptime", "site") })
        {
            var reason = Kpi(doc, kpi).GetProperty("reason");
            // Since when: the source's first stored poll, all of which failed.
            var since = DateTimeOffset.FromUnixTimeMilliseconds(FirstPollMs(database, source));
            Assert.Equal(since, reason.GetProperty("since").GetDateTimeOffset());
            var when = since.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            Assert.Contains($"its source {source} has failed every poll since {when} UTC: ", board, StringComparison.Ordinal);
            Assert.Contains($"data-reason=\"source_failing\">Why: its source {source} ", board, StringComparison.Ordinal);
        }

        var bounceError = Kpi(doc, "bounce").GetProperty("reason").GetProperty("error").GetString()!;
        // The echo (every request header's value) came back with the credential replaced.
        Assert.StartsWith("query failed (bad_data): <script>alert(1)</script> denied for ", bounceError, StringComparison.Ordinal);
        Assert.EndsWith(" ***", bounceError, StringComparison.Ordinal);
        Assert.Contains("refused", Kpi(doc, "uptime").GetProperty("reason").GetProperty("error").GetString()!, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(bounceError), board, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; denied for ", board, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", board, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"code\": \"source_failing\"", initiative, StringComparison.Ordinal);
        foreach (var (name, text) in new[] { ("board", board), ("/api/roadmap", doc.RootElement.GetRawText()), ("/api/initiatives/frontend", initiative) })
        {
            Assert.False(text.Contains(Canary, StringComparison.Ordinal), $"the secret appears in {name}:\n{text}");
        }

        await app.StopAsync();
    }

    [Fact]
    public async Task Host_ConfigFileStopsParsing_BoardShowsABannerWithFileAndLineUntilAGoodReload()
    {
        var (app, http, _) = await StartAsync();
        await using var _app = app;
        using var __ = http;
        Assert.DoesNotContain(Banner, await http.GetStringAsync("/"), StringComparison.Ordinal);
        using (var before = JsonDocument.Parse(await http.GetStringAsync("/api/roadmap")))
        {
            Assert.Equal(ConfigPath, before.RootElement.GetProperty("config").GetProperty("file").GetString());
            Assert.Equal(JsonValueKind.Null, before.RootElement.GetProperty("config").GetProperty("lastReload").ValueKind);
        }

        // A flow sequence that never closes, after the last line.
        await ReplaceAsync(ConfigPath, Config("Shop") + "\nbroken: [unclosed\n");

        var board = "";
        Assert.True(
            await Support.EventuallyAsync(async () => (board = await http.GetStringAsync("/")).Contains(Banner, StringComparison.Ordinal), Patience),
            "no banner after an invalid config:\n" + board);
        Assert.Contains($"The config file {ConfigPath} did not reload", board, StringComparison.Ordinal);
        Assert.Matches($"<li>{System.Text.RegularExpressions.Regex.Escape(ConfigPath)}:[0-9]+:[0-9]+: ", board);
        using (var failed = JsonDocument.Parse(await http.GetStringAsync("/api/roadmap")))
        {
            var reload = failed.RootElement.GetProperty("config").GetProperty("lastReload");
            Assert.False(reload.GetProperty("success").GetBoolean());
            Assert.True(reload.GetProperty("errorCount").GetInt32() >= 1);
            Assert.StartsWith(ConfigPath + ":", reload.GetProperty("errors")[0].GetString(), StringComparison.Ordinal);
            var at = reload.GetProperty("at").GetDateTimeOffset();
            Assert.Contains($"{at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC", board, StringComparison.Ordinal);
        }

        await ReplaceAsync(ConfigPath, Config("Shop renamed"));

        Assert.True(
            await Support.EventuallyAsync(async () => (board = await http.GetStringAsync("/")).Contains("<h1>Shop renamed</h1>", StringComparison.Ordinal), Patience),
            "the good config was not applied:\n" + board);
        // The page that first shows the new config shows no banner: the outcome is recorded before the swap.
        Assert.DoesNotContain(Banner, board, StringComparison.Ordinal);
        using (var good = JsonDocument.Parse(await http.GetStringAsync("/api/roadmap")))
        {
            var reload = good.RootElement.GetProperty("config").GetProperty("lastReload");
            Assert.True(reload.GetProperty("success").GetBoolean());
            Assert.Equal(0, reload.GetProperty("errors").GetArrayLength());
        }

        await app.StopAsync();
    }
}
