using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.EndToEnd.Tests;

/// <summary>The real executable, as a user runs it: exit codes, signals, the shipped config.</summary>
public sealed partial class WorkerProcessTests : IDisposable
{
    private readonly string _dir = Support.TempFolder();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private const string FaultyConfig = """
        roadmap:
          name: Faulty
        sources:
          - id: web
            kind: http
            every: 15x
            url: not-a-url
          - id: web
            kind: http
            url: http://127.0.0.1:1/
        initiatives:
          - id: a
            name: A
            timeline: 2027-Q5
            dependsOn: [b]
            kpis:
              - id: uptime
                source: web
                signal: upp
                window: 1h
                target: "=> 99%"
          - id: b
            name: B
            dependsOn: [a]
        """;

    [Fact]
    public async Task Validate_ConfigWithSeveralFaults_Exits2AndPrintsEveryOneWithFileLineColumn()
    {
        var config = Path.Combine(_dir, "faulty.yaml");
        await File.WriteAllTextAsync(config, FaultyConfig);

        await using var p = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "validate", "--config", config);

        Assert.Equal(2, p.ExitCode);
        var lines = p.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[] expected =
        [
            $"{config}:6:12: sources[web].every: bad duration \"15x\": expected a number and a unit (ms, s, m, h, d, w), e.g. 15s or 1h30m",
            $"{config}:7:10: sources[web].url: bad URL \"not-a-url\": expected an absolute http:// or https:// URL",
            $"{config}:8:9: sources[web].id: duplicate id \"web\" (first defined at line 4)",
            $"{config}:14:15: initiatives[a].timeline: bad quarter \"2027-Q5\": expected a quarter as YYYY-Qn (n from 1 to 4), or {{ start: YYYY-MM-DD, due: YYYY-MM-DD }}",
            $"{config}:19:17: initiatives[a].kpis[uptime].signal: source \"web\" (kind http) does not emit signal \"upp\"; it emits up, latency_seconds, status_code, dns_seconds, connect_seconds, tls_seconds, ttfb_seconds, transfer_seconds, tls_version, cert_expiry_seconds, redirects, content_length_bytes",
            $"{config}:21:17: initiatives[a].kpis[uptime].target: bad target \"=> 99%\": expected \"OP NUMBER\", \"OP NUMBER%\" or \"OP baseline +/- N[%]\", OP one of >=, >, <=, <, ==",
            $"{config}:24:17: initiatives[b].dependsOn: dependency cycle a -> b -> a",
            $"{config}: 7 error(s); nothing was started",
        ];
        Assert.Equal(expected, lines);
    }

    [Fact]
    public async Task Run_InvalidConfig_Exits2AndCreatesNoDatabase()
    {
        var config = Path.Combine(_dir, "faulty.yaml");
        await File.WriteAllTextAsync(config, FaultyConfig);
        var database = Path.Combine(_dir, "data", "roadmap.db");

        await using var p = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "run", "--config", config, "--database", database);

        Assert.Equal(2, p.ExitCode);
        Assert.Contains("nothing was started", p.Stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "data")));
        Assert.Empty(Directory.GetFiles(_dir, "*.db", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Run_UnknownVerb_Exits2WithUsage()
    {
        await using var p = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "serve");

        Assert.Equal(2, p.ExitCode);
        Assert.Contains("unknown verb \"serve\"", p.Stderr);
        Assert.Contains("usage:", p.Stderr);
    }

    [Fact]
    public async Task Run_Sigterm_StopsWithinSecondsAndEveryCountedPollIsStored()
    {
        using var service = WireMockServer.Start();
        service.Given(Request.Create().WithPath("/ok")).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        service.Given(Request.Create().WithPath("/down")).RespondWith(Response.Create().WithStatusCode(500));
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, $$"""
            roadmap: { name: Signals }
            settings: { evaluateEvery: 1s }
            sources:
              - { id: ok, kind: http, every: 200ms, url: "{{service.Url}}/ok" }
              - { id: down, kind: http, every: 200ms, url: "{{service.Url}}/down" }
            initiatives:
              - id: i
                name: I
                kpis:
                  - { id: down-uptime, source: down, signal: up, window: 1h, target: ">= 99%" }
            """);
        var database = Path.Combine(_dir, "data", "roadmap.db");
        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        await using var p = WorkerProcess.Start(_dir, "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}");
        var metrics = "";
        var polled = await Support.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync("/metrics");
                return Support.Value(metrics, "roadmap_source_polls_total", ("source", "down"), ("outcome", "failure")) >= 10
                    && Support.Value(metrics, "roadmap_kpi_value", ("kpi", "down-uptime")) is not null;
            },
            TimeSpan.FromSeconds(60));
        Assert.True(polled, $"no polls within 60 s; stderr:\n{p.Stderr}\nstdout:\n{p.Stdout}");
        Assert.Equal(0, Support.Value(metrics, "roadmap_kpi_value", ("kpi", "down-uptime")));
        Assert.False(p.HasExited, "the process must keep running while a source fails");
        var scraped = Support.Value(metrics, "roadmap_source_polls_total", ("source", "down"), ("outcome", "failure"))!.Value;

        p.Terminate();

        Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)), "not stopped within 10 s of SIGTERM");
        Assert.Equal(0, p.ExitCode);
        var closed = StorageClosed().Match(p.Stdout);
        Assert.True(closed.Success, "no storage-closed line in:\n" + p.Stdout);
        var counted = long.Parse(closed.Groups["counted"].Value, CultureInfo.InvariantCulture);
        Assert.Equal(counted, long.Parse(closed.Groups["written"].Value, CultureInfo.InvariantCulture));
        Assert.Equal("0", closed.Groups["dropped"].Value);
        using var db = new SqliteConnection($"Data Source={database};Mode=ReadOnly");
        db.Open();
        Assert.Equal(counted, db.ExecuteScalar<long>("SELECT count(*) FROM polls;"));
        Assert.True(db.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = 'down' AND outcome = 'failure';") >= scraped);
    }

    /// <summary>How many socket event threads (".NET Sockets") the process runs; -1 when it has exited.</summary>
    private static int SocketEventThreads(int pid)
    {
        try
        {
            return Directory.GetDirectories($"/proc/{pid}/task").Count(t => ThreadName(t) == ".NET Sockets");
        }
        catch (DirectoryNotFoundException)
        {
            return -1;
        }

        // A thread's name from its /proc task folder; empty when the thread ended meanwhile.
        static string ThreadName(string task)
        {
            try
            {
                return File.ReadAllText(Path.Combine(task, "comm")).Trim();
            }
            catch (IOException)
            {
                return "";
            }
        }
    }

    /// <summary>The repository's config/ into the working directory, as a new user has it.</summary>
    private void CopyShippedConfig()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "config"));
        foreach (var f in Directory.GetFiles(Path.Combine(Support.RepositoryRoot(), "config")))
        {
            File.Copy(f, Path.Combine(_dir, "config", Path.GetFileName(f)));
        }
    }

    [Fact]
    public async Task Run_ShippedConfig_ShowsSelfProbedUptimeWithin60Seconds()
    {
        // As a new user runs it: the shipped config from a fresh working directory, the default address.
        CopyShippedConfig();

        using var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:9810") };
        await using var p = WorkerProcess.Start(_dir);
        var metrics = "";
        var up = await Support.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync("/metrics");
                return Support.Value(metrics, "roadmap_kpi_value", ("initiative", "cloud-migration"), ("kpi", "uptime")) is not null
                    && Support.Value(metrics, "roadmap_kpi_value", ("initiative", "database-performance"), ("kpi", "query-time-p95")) is not null;
            },
            TimeSpan.FromSeconds(60));

        Assert.True(up, $"no uptime KPI within 60 s; stderr:\n{p.Stderr}\nstdout:\n{p.Stdout}\nmetrics:\n{metrics}");
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_value", ("initiative", "cloud-migration"), ("kpi", "uptime")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_source_up", ("source", "storefront"), ("kind", "http")));
        Assert.Equal(1, Support.Value(metrics, "roadmap_source_up", ("source", "orders-db"), ("kind", "sql")));
        Assert.True(File.Exists(Path.Combine(_dir, "data", "roadmap.db")));
        p.Terminate();
        Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_ShippedConfigOnAnotherPort_ProbesItselfThereAndNothingFails(bool inlineSocketCompletions)
    {
        // The shipped config named 127.0.0.1:9810: on any other port the self-probe failed from the first poll on
        // (uptime 0%, missed) and those failures stayed in the database.
        // Also under the lever README gives for large probe loads, socket completions run on the event threads: the
        // service, its self-probe and its sql source must work the same.
        CopyShippedConfig();

        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var environment = new Dictionary<string, string?>();
        if (inlineSocketCompletions)
        {
            environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        }

        await using var p = WorkerProcess.Start(_dir, environment, "--urls", $"http://127.0.0.1:{port}");
        var metrics = "";
        var probed = await Support.EventuallyAsync(
            async () =>
            {
                metrics = await http.GetStringAsync("/metrics");
                return Support.Value(metrics, "roadmap_kpi_value", ("initiative", "cloud-migration"), ("kpi", "uptime")) is not null;
            },
            TimeSpan.FromSeconds(60));
        // The lever took: the runtime runs one socket event thread per processor with it, one per 30 without.
        var eventThreads = SocketEventThreads(p.Id);
        p.Terminate();
        Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)));

        Assert.True(probed, $"no uptime KPI within 60 s; stdout:\n{p.Stdout}\nmetrics:\n{metrics}");
        Assert.Equal(inlineSocketCompletions ? Environment.ProcessorCount : Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0)), eventThreads);
        Assert.Equal(1, Support.Value(metrics, "roadmap_kpi_value", ("initiative", "cloud-migration"), ("kpi", "uptime")));
        using var db = new SqliteConnection($"Data Source={Path.Combine(_dir, "data", "roadmap.db")};Mode=ReadOnly");
        db.Open();
        Assert.True(db.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = 'storefront';") > 0);
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = 'storefront' AND outcome = 'failure';"));
    }

    [Fact]
    public async Task Run_FailedPolls_LogTheUrlTriedWithoutCredentials()
    {
        // "Poll of source storefront failed: connection refused" did not say where: the wrong port, or the service down?
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, """
            roadmap: { name: Where }
            sources:
              - { id: probe, kind: http, every: 1s, url: "http://robot:pa55word@127.0.0.1:1/healthz?key=k3y-s3cret" }
              - { id: metrics, kind: prometheus, every: 1s, url: "http://127.0.0.1:1/prom", query: up }
              - { id: stats, kind: json, every: 1s, url: "http://127.0.0.1:1/stats.json", signals: { n: $.n } }
            """);
        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await using var p = WorkerProcess.Start(_dir, "--config", config, "--database", Path.Combine(_dir, "data", "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");
        var expected = new[]
        {
            "Poll of source probe (http://127.0.0.1:1/healthz?…) failed: ",
            "Poll of source metrics (http://127.0.0.1:1/prom/api/v1/query?…) failed: ",
            "Poll of source stats (http://127.0.0.1:1/stats.json) failed: ",
        };
        var logged = await Support.EventuallyAsync(() => Task.FromResult(expected.All(e => p.Stdout.Contains(e, StringComparison.Ordinal))), TimeSpan.FromSeconds(60));
        p.Terminate();
        Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)));

        Assert.True(logged, "stdout:\n" + p.Stdout);
        Assert.DoesNotContain("pa55word", p.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("k3y-s3cret", p.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AddressInUse_OneCleanLineExit1AndNoDatabase()
    {
        // Before: the host logged the failure with its whole stack on one long line, then the clean error; and the
        // database file had been created (and polls taken) before the bind failed.
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, """
            roadmap: { name: Busy }
            sources:
              - { id: web, kind: http, every: 1s, url: "http://127.0.0.1:1/" }
            """);
        var data = Path.Combine(_dir, "data");

        await using var p = await WorkerProcess.RunAsync(_dir, TimeSpan.FromSeconds(60), "--config", config, "--database", Path.Combine(data, "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");

        Assert.Equal(1, p.ExitCode);
        var line = Assert.Single(p.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("address already in use", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", p.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", p.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "the database folder was created: " + string.Join(", ", Directory.Exists(data) ? Directory.GetFiles(data) : []));
    }

    [Fact]
    public async Task Run_FromAFolderWithoutAppsettings_LogsNoLinePerRequestInTheShippedFormat()
    {
        // A published folder copied elsewhere, or a service whose working directory has no config/appsettings.json.
        var config = Path.Combine(_dir, "roadmap.yaml");
        await File.WriteAllTextAsync(config, """
            roadmap: { name: Quiet }
            sources:
              - { id: closed, kind: http, every: 1s, url: "http://127.0.0.1:1/" }
            """);
        Assert.False(File.Exists(Path.Combine(_dir, "config", "appsettings.json")));
        var port = Support.FreePort();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await using var p = WorkerProcess.Start(_dir, "--config", config, "--database", Path.Combine(_dir, "data", "roadmap.db"), "--urls", $"http://127.0.0.1:{port}");
        Assert.True(await Reliability.IngestRig.WaitReadyAsync(http, p, TimeSpan.FromSeconds(60)), $"not ready; stdout:\n{p.Stdout}");

        for (var i = 0; i < 10; i++)
        {
            foreach (var path in new[] { "/healthz", "/api/roadmap", "/no-such-page" })
            {
                using var _ = await http.GetAsync(new Uri(path, UriKind.Relative));
            }
        }

        p.Terminate();
        Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(10)), "not stopped within 10 s of SIGTERM");
        Assert.DoesNotContain("Request starting", p.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Request finished", p.Stdout, StringComparison.Ordinal);
        // The shipped console format: one line per entry, starting with a UTC timestamp.
        var closed = p.Stdout.Split('\n').Single(l => l.Contains("Storage closed:", StringComparison.Ordinal));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info: ", closed);
    }

    [GeneratedRegex(@"Storage closed: (?<counted>\d+) polls counted, (?<written>\d+) polls written, (?<dropped>\d+) dropped")]
    private static partial Regex StorageClosed();
}
