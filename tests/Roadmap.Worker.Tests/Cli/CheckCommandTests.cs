using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Worker.Cli;
using Roadmap.Sources.Tests.Redis;
using Roadmap.Worker.Tests.Scheduling;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.Worker.Tests.Cli;

public sealed class CheckCommandTests : IDisposable
{
    private readonly WireMockServer _server = WireMockServer.Start();

    public CheckCommandTests()
    {
        _server.Given(Request.Create().WithPath("/ok")).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        _server.Given(Request.Create().WithPath("/down")).RespondWith(Response.Create().WithStatusCode(503));

        // WireMock runs in this process: warm it, as a monitored service in production is warm.
        using var warm = new HttpClient();
        warm.GetAsync(new Uri(_server.Url + "/ok")).GetAwaiter().GetResult().Dispose();
    }

    public void Dispose() => _server.Dispose();

    private RoadmapConfig Config(params string[] paths)
    {
        var sources = string.Join("\n", paths.Select(p => $"  - {{ id: {p.Trim('/')}, kind: http, timeout: 2s, url: \"{_server.Url}{p}\" }}"));
        var loaded = new ConfigLoader(SourceKinds.All).Load($"roadmap: {{ name: C }}\nsources:\n{sources}\n", "c.yaml");
        Assert.Empty(loaded.Errors);
        return loaded.Config!;
    }

    [Fact]
    public async Task RunAsync_OneSourceFails_Exits1AndPrintsEverySourceWithSignalsAndReason()
    {
        using var stdout = new StringWriter();

        var exit = await CheckCommand.RunAsync(Config("/ok", "/down"), stdout);

        Assert.Equal(RoadmapCli.RuntimeFailure, exit);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Matches(@"^SOURCE\s+KIND\s+OK\s+DURATION\s+SIGNALS\s+FAILURE$", lines[0]);
        // Plain http: the phases, redirects and body size follow the three first signals (no TLS ones).
        const string Phases = @" dns_seconds=[0-9.eE+-]+ connect_seconds=[0-9.eE+-]+ ttfb_seconds=[0-9.eE+-]+ redirects=0 transfer_seconds=[0-9.eE+-]+ content_length_bytes=[0-9]+";
        Assert.Matches(@"^ok\s+http\s+ok\s+[0-9.]+ms\s+up=1 latency_seconds=[0-9.e-]+ status_code=200" + Phases + "$", lines[1]);
        Assert.Matches(@"^down\s+http\s+FAILED\s+[0-9.]+ms\s+up=0 latency_seconds=[0-9.e-]+ status_code=503" + Phases + @"\s+HTTP 503 Service Unavailable, expected 2xx$", lines[2]);
        Assert.Equal("1 of 2 sources ok", lines[3].Trim());
    }

    [Fact]
    public async Task RunAsync_SourcesThrow_PrintsTheTableWithInternalErrorsAndExits1()
    {
        // Before the poll boundary, the first exception ended check (and the process) without a table.
        List<ISourceKind> kinds = [.. SourceKinds.All, new ThrowingKind()];
        var loaded = new ConfigLoader(kinds).Load(
            $$"""
            roadmap: { name: C }
            sources:
              - { id: ok, kind: http, timeout: 2s, url: "{{_server.Url}}/ok" }
              - { id: sync, kind: throwing, throws: sync, token: s3cr3t-token-1 }
              - { id: async, kind: throwing, throws: async, token: s3cr3t-token-2 }
            """,
            "c.yaml");
        Assert.Empty(loaded.Errors);
        using var stdout = new StringWriter();

        var exit = await CheckCommand.RunAsync(loaded.Config!, stdout, kinds: kinds);

        Assert.Equal(RoadmapCli.RuntimeFailure, exit);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Matches(@"^ok\s+http\s+ok\s", lines[1]);
        Assert.Matches(@"^sync\s+throwing\s+FAILED\s+[0-9.]+ms\s+internal error: NotSupportedException: sync bug with token \*\*\*$", lines[2]);
        Assert.Matches(@"^async\s+throwing\s+FAILED\s+[0-9.]+ms\s+internal error: InvalidOperationException: async bug with token \*\*\*$", lines[3]);
        Assert.Equal("1 of 3 sources ok", lines[4].Trim());
    }

    [Fact]
    public async Task RunAsync_RedisSource_ReadsTwiceAndShowsTheHitRatioOfTheInterval()
    {
        // The first poll of a redis source is a baseline with no samples: read once, check showed no value at all.
        using var redis = new RedisServer();
        var loaded = new ConfigLoader(SourceKinds.All).Load($"roadmap: {{ name: C }}\nsources:\n  - {{ id: cache, kind: redis, address: \"{redis.Address}\" }}\n", "c.yaml");
        Assert.Empty(loaded.Errors);
        using var stdout = new StringWriter();

        var check = CheckCommand.RunAsync(loaded.Config!, stdout);
        while (!check.IsCompleted)
        {
            // Lookups all along, so the interval between the two readings has some: three hits to each miss.
            await redis.LookUpAsync(3, 1);
        }

        Assert.Equal(RoadmapCli.Ok, await check);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var row = Assert.Single(lines, l => l.StartsWith("cache ", StringComparison.Ordinal));
        var m = System.Text.RegularExpressions.Regex.Match(row, @"^cache\s+redis\s+ok\s+[0-9.]+ms\s+hits=(?<hits>\d+) misses=(?<misses>\d+) hit_ratio=(?<ratio>[0-9.e-]+)$");
        Assert.True(m.Success, row);
        var (hits, misses) = (double.Parse(m.Groups["hits"].Value, System.Globalization.CultureInfo.InvariantCulture), double.Parse(m.Groups["misses"].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(hits > 0 && misses > 0, row);
        var ratio = double.Parse(m.Groups["ratio"].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Math.Abs((hits / (hits + misses)) - ratio) < 1e-5, row);
        Assert.Contains(lines, l => l.StartsWith("read twice, 1 s apart", StringComparison.Ordinal) && l.EndsWith(": cache", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_AllSourcesOk_Exits0()
    {
        using var stdout = new StringWriter();

        var exit = await CheckCommand.RunAsync(Config("/ok"), stdout);

        Assert.Equal(RoadmapCli.Ok, exit);
        Assert.EndsWith("1 of 1 sources ok", stdout.ToString().Trim());
    }
}
