using Dapper;
using Microsoft.Data.Sqlite;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests;

/// <summary>
/// A secret never leaves Roadmap: a canary token is given to every kind that takes a credential, the server they
/// poll echoes credentials back into its error bodies (the worst case), and every output is searched for it.
/// </summary>
public sealed class SecretsTests : IDisposable
{
    private const string Canary = "canary-7f3e9b1c5d2a4e6f8a0b";
    private readonly string _dir = Support.TempFolder();
    private readonly WireMockServer _api = WireMockServer.Start();

    public SecretsTests()
    {
        // Every request header value, JSON-escaped: whatever credential a source sends comes straight back.
        static string Echo(WireMock.IRequestMessage r) => System.Text.Json.JsonEncodedText.Encode(
            string.Join(" ", (r.Headers ?? new Dictionary<string, WireMock.Types.WireMockList<string>>()).SelectMany(h => h.Value))).ToString();
        _api.Given(Request.Create().WithPath("/prom/api/v1/query"))
            .RespondWith(Response.Create().WithStatusCode(400).WithHeader("Content-Type", "application/json")
                .WithBody(r => $"{{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"denied for {Echo(r)}\"}}"));
        _api.Given(Request.Create().WithPath("/rest/api/3/search/approximate-count"))
            .RespondWith(Response.Create().WithStatusCode(400).WithHeader("Content-Type", "application/json")
                .WithBody(r => $"{{\"errorMessages\":[\"bad JQL for {Echo(r)}\"]}}"));
        _api.Given(Request.Create().WithPath("/search/issues"))
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json")
                .WithBody(r => $"{{\"message\":\"Bad credentials {Echo(r)}\"}}"));
        _api.Given(Request.Create().WithPath("/api/v4/*"))
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json")
                .WithBody(r => $"{{\"message\":\"401 Unauthorized {Echo(r)}\"}}"));
        _api.Given(Request.Create().WithPath("/stats"))
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody(r => $"{{\"bounce\":\"{Echo(r)}\"}}"));
    }

    public void Dispose()
    {
        _api.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string WriteConfig()
    {
        File.WriteAllText(Path.Combine(_dir, "redis-password"), Canary + "\n");
        var config = Path.Combine(_dir, "roadmap.yaml");
        File.WriteAllText(config, $$"""
            roadmap: { name: Secrets }
            settings: { evaluateEvery: 1s }
            sources:
              - { id: rum, kind: prometheus, every: 1s, timeout: 900ms, url: "{{_api.Url}}/prom", query: up, headers: { Authorization: "Bearer ${ROADMAP_CANARY}" } }
              - { id: incidents, kind: jira, every: 1s, timeout: 900ms, url: "{{_api.Url}}", jql: "project = SHOP", email: ops@example.com, token: "${ROADMAP_CANARY}" }
              - { id: bugs, kind: github, every: 1s, timeout: 900ms, apiUrl: "{{_api.Url}}", repository: acme/shop, query: "is:issue", token: "${ROADMAP_CANARY}" }
              - { id: gl-bugs, kind: gitlab, every: 1s, timeout: 900ms, url: "{{_api.Url}}", project: acme/shop, token: "${ROADMAP_CANARY}" }
              - { id: analytics, kind: json, every: 1s, timeout: 900ms, url: "{{_api.Url}}/stats", signals: { bounce_rate: $.bounce }, headers: { Authorization: "Bearer ${ROADMAP_CANARY}" } }
              - { id: cache, kind: redis, every: 1s, timeout: 900ms, address: "127.0.0.1:1", passwordFile: "{{Path.Combine(_dir, "redis-password")}}" }
            initiatives:
              - id: security
                name: Security
                kpis:
                  - { id: incidents, source: incidents, signal: count, aggregate: last, window: 1h, target: "== 0" }
                  - { id: bounce, source: analytics, signal: bounce_rate, window: 1h, target: "<= 0.4" }
            """);
        return config;
    }

    /// <summary>Every distinct failure reason stored; while the worker runs, a database not yet created reads as none.</summary>
    private static string StoredReasons(string database, bool whileRunning)
    {
        try
        {
            using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
            return string.Join("\n", db.Query<string>("SELECT DISTINCT reason FROM polls WHERE reason IS NOT NULL;"));
        }
        catch (SqliteException) when (whileRunning)
        {
            return "";
        }
    }

    private static readonly Dictionary<string, string?> Environment = new() { ["ROADMAP_CANARY"] = Canary };

    [Fact]
    public async Task EveryOutput_WithServersEchoingCredentials_NeverContainsTheSecret()
    {
        var config = WriteConfig();
        var database = Path.Combine(_dir, "roadmap.db");
        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var outputs = new Dictionary<string, string>();

        await using (var p = WorkerProcess.Start(_dir, Environment, "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}"))
        {
            var failing = await Support.EventuallyAsync(
                async () =>
                {
                    var m = await http.GetStringAsync("/metrics");
                    // Every source failed at least once, and at least one failure that quotes the server is stored.
                    // A loaded machine can time a poll out before the server's echo arrives, so a failure alone
                    // does not prove the redaction ran; the test waits for a stored echo instead of hoping for one.
                    return new[] { "rum", "incidents", "bugs", "gl-bugs", "analytics", "cache" }
                               .All(s => Support.Value(m, "roadmap_source_polls_total", ("source", s), ("outcome", "failure")) >= 1)
                           && StoredReasons(database, whileRunning: true).Contains("***", StringComparison.Ordinal);
                },
                TimeSpan.FromSeconds(60));
            Assert.True(failing, "not every source polled and failed, or no echo was stored:\n" + StoredReasons(database, whileRunning: true) + "\n" + p.Stderr + p.Stdout);
            outputs["/metrics"] = await http.GetStringAsync("/metrics");
            outputs["/api/roadmap"] = await http.GetStringAsync("/api/roadmap");
            outputs["/"] = await http.GetStringAsync("/");
            p.Terminate();
            Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(15)));
            outputs["run stdout (logs)"] = p.Stdout;
            outputs["run stderr"] = p.Stderr;
        }

        await using (var check = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), Environment, "check", "--config", config))
        {
            Assert.Equal(1, check.ExitCode);
            outputs["check stdout"] = check.Stdout;
            outputs["check stderr"] = check.Stderr;
        }

        outputs["polls.reason"] = StoredReasons(database, whileRunning: false);

        // The trap was armed: the server really did echo the credential back.
        Assert.Contains(_api.LogEntries, e => e.ResponseMessage.BodyData?.BodyAsString?.Contains(Canary, StringComparison.Ordinal) == true);
        Assert.Contains("bugs", outputs["check stdout"]);
        // Reasons that quote the server (Prometheus' error, Jira's errorMessages, a json value) had the echo redacted.
        Assert.Contains("***", outputs["polls.reason"]);
        foreach (var (name, text) in outputs)
        {
            Assert.False(text.Contains(Canary, StringComparison.Ordinal), $"the secret appears in {name}:\n{text}");
        }
    }
}
