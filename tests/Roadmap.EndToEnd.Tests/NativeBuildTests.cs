using System.Net;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Sources.Tests.Sql;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using Xunit.Abstractions;

namespace Roadmap.EndToEnd.Tests;

/// <summary>
/// The native build (<c>dotnet publish</c>, Native AOT) as shipped: it has no JIT and no reflection beyond what the
/// compiler kept, so code that works on the JIT can fail here at run time. One run covers each such path: generated
/// Dapper calls (migrations, writes, the history read at start), evaluation, the generated JSON of the API and of
/// <c>report</c>, the reflective config comparison of a reload, and a clean stop.
/// </summary>
[Collection(NativeBuildGroup.Name)]
public sealed class NativeBuildTests(NativeBuild build, PostgresServer postgres, ITestOutputHelper output) : IClassFixture<NativeBuild>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly string _dir = Support.TempFolder();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public Task Publish_NativeExecutableOnPostgres_StoresEvaluatesServesReloadsReportsAndRestarts() =>
        // Npgsql's and the PostgreSQL backend's paths (COPY, batches, partitions) without a JIT.
        Storage.PostgresEndToEndTests.ServiceScenarioAsync(postgres, _dir, (environment, args) => WorkerProcess.StartCommand(build.Executable, args, _dir, environment));

    [Fact]
    public Task Publish_NativeExecutableInACluster_EachTickPolledOnceAndTakenOverInTime() =>
        // Quartz's clustered job store, the window claims and the snapshot sharing without a JIT, audited as on the JIT.
        Cluster.ClusterFailoverTests.FailoverAuditAsync(postgres, (environment, args) => WorkerProcess.StartCommand(build.Executable, args, _dir, environment), output);

    [Fact]
    public async Task Publish_NativeExecutable_PollsStoresEvaluatesServesAndReloads()
    {
        using var service = WireMockServer.Start();
        service.Given(Request.Create().WithPath("/ok")).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        service.Given(Request.Create().WithPath("/down")).RespondWith(Response.Create().WithStatusCode(503));
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, $$"""
            roadmap: { name: Native }
            settings: { evaluateEvery: 1s }
            sources:
              - { id: ok, kind: http, every: 200ms, url: "{{service.Url}}/ok" }
              - { id: down, kind: http, every: 200ms, url: "{{service.Url}}/down" }
            initiatives:
              - id: web
                name: Web
                kpis:
                  - { id: uptime, source: ok, signal: up, window: 1h, target: ">= 99%" }
                  - { id: down-uptime, source: down, signal: up, window: 1h, target: ">= 99%" }
            """);
        var database = Path.Combine(_dir, "roadmap.db");
        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        string[] run = ["run", "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}"];

        await using (var p = WorkerProcess.StartNative(build.Executable, _dir, run))
        {
            var metrics = "";
            var evaluated = await Support.EventuallyAsync(
                async () =>
                {
                    metrics = await http.GetStringAsync("/metrics");
                    // Every poll of "down" fails; "ok" answers, though on a busy machine its first polls may time out
                    // (one CI run evaluated while all of them had): wait for a round that has seen it answer.
                    return Support.Value(metrics, "roadmap_kpi_value", ("kpi", "uptime")) >= 0.5
                        && Support.Value(metrics, "roadmap_source_polls_total", ("source", "down"), ("outcome", "failure")) >= 5;
                },
                TimeSpan.FromSeconds(60));
            Assert.True(evaluated, $"not evaluated with \"ok\" up within 60 s; stderr:\n{p.Stderr}\nstdout:\n{p.Stdout}");
            Assert.InRange(Support.Value(metrics, "roadmap_kpi_value", ("kpi", "uptime"))!.Value, 0.5, 1);
            Assert.Equal(0, Support.Value(metrics, "roadmap_kpi_value", ("kpi", "down-uptime")));

            using (var roadmap = JsonDocument.Parse(await http.GetStringAsync("/api/roadmap")))
            {
                var web = roadmap.RootElement.GetProperty("initiatives")[0];
                Assert.Equal("web", web.GetProperty("id").GetString());
                Assert.Equal(["uptime", "down-uptime"], web.GetProperty("kpis").EnumerateArray().Select(k => k.GetProperty("id").GetString()));
                Assert.Equal(JsonValueKind.String, roadmap.RootElement.GetProperty("evaluatedAt").ValueKind);
            }

            using (var initiative = JsonDocument.Parse(await http.GetStringAsync("/api/initiatives/web")))
            {
                Assert.Equal("Web", initiative.RootElement.GetProperty("name").GetString());
            }

            var historyRead = await Support.EventuallyAsync(
                async () =>
                {
                    using var history = JsonDocument.Parse(await http.GetStringAsync("/api/initiatives/web/kpis/uptime/history"));
                    return history.RootElement.GetProperty("points").GetArrayLength() > 0;
                },
                TimeSpan.FromSeconds(30));
            Assert.True(historyRead, "no stored evaluation in the history document");

            using var unknown = await http.GetAsync(new Uri("/api/initiatives/nope", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Contains("nope", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // The same file again: every source must compare equal, property by property, through reflection.
            p.Hangup();
            var reloaded = await Support.EventuallyAsync(
                () => Task.FromResult(p.Stdout.Contains("Config reloaded from", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30));
            Assert.True(reloaded, "no reload line in:\n" + p.Stdout);
            Assert.Contains("sources added: none; removed: none; changed: none; 2 unchanged", p.Stdout, StringComparison.Ordinal);

            p.Terminate();
            Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(15)), "not stopped within 15 s of SIGTERM");
            Assert.Equal(0, p.ExitCode);
            AssertNoFailure(p);
        }

        using (var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly"))
        {
            db.Open();
            Assert.True(db.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = 'down' AND outcome = 'failure';") >= 5);
            Assert.True(db.ExecuteScalar<long>("SELECT count(*) FROM evaluations WHERE kpi = 'uptime';") > 0);
        }

        // A second start reads the stored history back (the generated row readers), then a report renders it as JSON.
        await using (var again = WorkerProcess.StartNative(build.Executable, _dir, run))
        {
            var up = await Support.EventuallyAsync(
                async () => Support.Value(await http.GetStringAsync("/metrics"), "roadmap_kpi_value", ("kpi", "uptime")) is not null,
                TimeSpan.FromSeconds(60));
            Assert.True(up, $"no evaluation after the restart; stderr:\n{again.Stderr}\nstdout:\n{again.Stdout}");
            again.Terminate();
            Assert.True(await again.WaitForExitAsync(TimeSpan.FromSeconds(15)), "not stopped within 15 s of SIGTERM");
            AssertNoFailure(again);
        }

        await using var report = WorkerProcess.StartNative(build.Executable, _dir, "report", "--config", config, "--database", database, "--format", "json");
        Assert.True(await report.WaitForExitAsync(TimeSpan.FromSeconds(60)), "report did not finish within 60 s");
        Assert.True(report.ExitCode == 0, $"report exit {report.ExitCode}; stderr:\n{report.Stderr}");
        using var document = JsonDocument.Parse(report.Stdout);
        var kpi = document.RootElement.GetProperty("initiatives")[0].GetProperty("kpis")[0];
        Assert.Equal("uptime", kpi.GetProperty("id").GetString());
        Assert.InRange(kpi.GetProperty("value").GetDouble(), 0.5, 1);
    }

    private static void AssertNoFailure(WorkerProcess p)
    {
        var output = p.Stdout + p.Stderr;
        Assert.DoesNotContain("fail:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("crit:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("NotSupportedException", output, StringComparison.Ordinal);
    }
}

/// <summary>Runs alone, after the parallel tests: the native compile uses both cores for a minute or two.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeBuildGroup
{
    public const string Name = "Native build (runs alone)";
}

/// <summary>
/// Publishes src/Roadmap.Worker once, as a user would (<c>dotnet publish -c Release</c>), into its own artifacts
/// folder so the test run's own build outputs and restore files are not touched.
/// </summary>
public sealed class NativeBuild : IAsyncLifetime
{
    private readonly string _dir = Support.TempFolder();

    public string Executable => Path.Combine(_dir, "publish", "Roadmap.Worker");

    public async Task InitializeAsync()
    {
        var root = Support.RepositoryRoot();
        await using var publish = WorkerProcess.StartCommand(
            "dotnet",
            ["publish", Path.Combine(root, "src", "Roadmap.Worker"), "-c", "Release", "--nologo", "-v", "q",
             "--artifacts-path", Path.Combine(_dir, "artifacts"), "-o", Path.Combine(_dir, "publish")],
            root,
            new Dictionary<string, string?>());
        if (!await publish.WaitForExitAsync(TimeSpan.FromMinutes(10)))
        {
            throw new TimeoutException($"dotnet publish did not finish within 10 minutes:\n{publish.Stdout}\n{publish.Stderr}");
        }

        if (publish.ExitCode != 0 || !File.Exists(Executable))
        {
            throw new InvalidOperationException($"dotnet publish failed ({publish.ExitCode}):\n{publish.Stdout}\n{publish.Stderr}");
        }

        // A native executable, not an apphost beside a Roadmap.Worker.dll.
        Assert.False(File.Exists(Path.Combine(_dir, "publish", "Roadmap.Worker.dll")), "publish produced IL, not a native build");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
