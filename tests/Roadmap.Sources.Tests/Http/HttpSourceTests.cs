using Roadmap.Sources.Http;

namespace Roadmap.Sources.Tests.Http;

public sealed class HttpSourceTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private readonly WireMockServer _server = wiremock.Server;

    // Each test has its own path on the shared server.
    private readonly string _path = "/" + Guid.NewGuid().ToString("N");

    private string Url => _server.Url + _path;

    /// <summary>An http source probing this test's path; <paramref name="extra"/> adds keys (YAML lines at the source's indent).</summary>
    internal static string Probe(string url, string extra = "", string timeout = "5s") =>
        $"""
        - id: web
          kind: http
          timeout: {timeout}
          url: {url}
        {string.Join('\n', extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l))}
        """;

    private void Answer(int status, string body = "", TimeSpan? delay = null)
    {
        var response = Response.Create().WithStatusCode(status).WithBody(body);
        if (delay is { } d)
        {
            response = response.WithDelay(d);
        }

        _server.Given(Request.Create().WithPath(_path).UsingAnyMethod()).RespondWith(response);
    }

    private List<IRequestMessage> Requests() =>
        _server.LogEntries.Select(e => e.RequestMessage).Where(r => r.Path == _path).ToList();

    private static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.ToString();

    private static async Task<PollResult> PollOnceAsync(string source, Func<string, string?>? environment = null)
    {
        await using var probe = TestConfigs.Create(source, environment);
        return await probe.PollAsync(CancellationToken.None);
    }

    [Fact]
    public async Task PollAsync_200WithBody_SucceedsWithUpLatencyAndStatus()
    {
        Answer(200, "ok");

        var result = await PollOnceAsync(Probe(Url));

        Assert.True(result.Success, result.Failure);
        Assert.Null(result.Failure);
        Assert.Equal(1, result.Value(HttpSourceKind.Up));
        Assert.Equal(200, result.Value(HttpSourceKind.StatusCode));
        Assert.True(result.Value(HttpSourceKind.LatencySeconds) > 0);
        // Plain http: every signal but the TLS ones (tls_seconds, tls_version, cert_expiry_seconds).
        Assert.Equal(
            [HttpSourceKind.Up, HttpSourceKind.LatencySeconds, HttpSourceKind.StatusCode, HttpSourceKind.DnsSeconds, HttpSourceKind.ConnectSeconds,
             HttpSourceKind.TtfbSeconds, HttpSourceKind.Redirects, HttpSourceKind.TransferSeconds, HttpSourceKind.ContentLengthBytes],
            result.Samples.Select(s => s.Signal));
        Assert.Equal(2, result.Value(HttpSourceKind.ContentLengthBytes));
        Assert.True(result.Duration > TimeSpan.Zero);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(204)]
    [InlineData(299)]
    public async Task PollAsync_Any2xxWithoutExpect_Succeeds(int status)
    {
        Answer(status);

        var result = await PollOnceAsync(Probe(Url));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(HttpSourceKind.Up));
        Assert.Equal(status, result.Value(HttpSourceKind.StatusCode));
    }

    [Theory]
    [InlineData(404, "HTTP 404 Not Found, expected 2xx")]
    [InlineData(500, "HTTP 500 Internal Server Error, expected 2xx")]
    [InlineData(503, "HTTP 503 Service Unavailable, expected 2xx")]
    public async Task PollAsync_Non2xx_FailsButStillSamplesUpZeroLatencyAndStatus(int status, string reason)
    {
        Answer(status, "oops");

        var result = await PollOnceAsync(Probe(Url));

        Assert.False(result.Success);
        Assert.Equal(reason, result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.Equal(status, result.Value(HttpSourceKind.StatusCode));
        Assert.True(result.Value(HttpSourceKind.LatencySeconds) > 0);
    }

    [Fact]
    public async Task PollAsync_SlowerThanTimeout_FailsWithTimeoutWithoutWaitingForTheServer()
    {
        Answer(200, "ok", delay: TimeSpan.FromSeconds(20));
        var clock = Stopwatch.StartNew();

        var result = await PollOnceAsync(Probe(Url, timeout: "500ms"));

        clock.Stop();
        Assert.False(result.Success);
        Assert.Equal("timeout after 500ms", result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.Null(result.Value(HttpSourceKind.StatusCode));
        Assert.True(result.Duration >= TimeSpan.FromMilliseconds(450), $"duration {result.Duration}");
        // Far from the 20 s answer: a timeout that fired, whatever a busy CI machine does to the 500 ms timer.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_NothingListening_FailsWithConnectionRefused()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await PollOnceAsync(Probe($"http://127.0.0.1:{port}/healthz"));

        Assert.False(result.Success);
        Assert.Equal("connection refused", result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.Null(result.Value(HttpSourceKind.StatusCode));
    }

    [Theory]
    [InlineData("status: healthy", "healthy", null)]
    [InlineData("ok", "healthy", "body does not contain \"healthy\"")]
    [InlineData("HEALTHY", "healthy", "body does not contain \"healthy\"")]
    [InlineData("", "ok", "body does not contain \"ok\"")]
    public async Task PollAsync_BodyContains_UpOnlyWhenTheBodyHasTheText(string body, string needle, string? failure)
    {
        Answer(200, body);

        var result = await PollOnceAsync(Probe(Url, $"expect: {{bodyContains: \"{needle}\"}}"));

        Assert.Equal(failure, result.Failure);
        Assert.Equal(failure is null ? 1 : 0, result.Value(HttpSourceKind.Up));
        Assert.Equal(200, result.Value(HttpSourceKind.StatusCode));
        Assert.True(result.Value(HttpSourceKind.LatencySeconds) > 0);
    }

    [Theory]
    [InlineData("[204]", 204, null)]
    [InlineData("[204]", 200, "HTTP 200 OK, expected 204")]
    [InlineData("204", 204, null)]
    [InlineData("[200, 204]", 204, null)]
    [InlineData("[200, 204]", 500, "HTTP 500 Internal Server Error, expected 200 or 204")]
    [InlineData("[503]", 503, null)]
    public async Task PollAsync_ExpectStatus_UpOnlyForTheListedCodes(string expect, int status, string? failure)
    {
        Answer(status);

        var result = await PollOnceAsync(Probe(Url, $"expect: {{status: {expect}}}"));

        Assert.Equal(failure, result.Failure);
        Assert.Equal(failure is null ? 1 : 0, result.Value(HttpSourceKind.Up));
        Assert.Equal(status, result.Value(HttpSourceKind.StatusCode));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("POST")]
    [InlineData("PUT")]
    public async Task PollAsync_MethodAndHeaders_ReachTheServer(string method)
    {
        Answer(200);

        var result = await PollOnceAsync(
            Probe(Url, $$"""
                method: {{method}}
                headers:
                  X-Api-Key: abc123
                  Authorization: Bearer ${TOKEN}
                """),
            name => name == "TOKEN" ? "s3cret" : null);

        Assert.True(result.Success, result.Failure);
        var request = Assert.Single(Requests());
        Assert.Equal(method, request.Method);
        Assert.Equal("abc123", Header(request, "X-Api-Key"));
        Assert.Equal("Bearer s3cret", Header(request, "Authorization"));
        Assert.Equal("Roadmap-probe/1.0", Header(request, "User-Agent"));
    }

    [Fact]
    public async Task PollAsync_ContentHeader_IsSentOnTheRequestContent()
    {
        Answer(200);

        var result = await PollOnceAsync(Probe(Url, """
            method: POST
            headers: {Content-Type: application/json}
            """));

        Assert.True(result.Success, result.Failure);
        var request = Assert.Single(Requests());
        Assert.Equal("POST", request.Method);
        Assert.Equal("application/json", Header(request, "Content-Type"));
    }

    [Fact]
    public async Task PollAsync_TwoProbes_EachAsksForItsConnectionToBeClosed()
    {
        Answer(200, "ok");
        await using var probe = TestConfigs.Create(Probe(Url));

        var first = await probe.PollAsync(CancellationToken.None);
        var second = await probe.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        var requests = Requests();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal("close", Header(r, "Connection"), ignoreCase: true));
    }

    [Fact]
    public async Task PollAsync_ConnectNeverCompletes_FailsWithTheProbeTimeoutBeforeAnyConnect()
    {
        // A listener that never accepts, its accept queue filled: the kernel drops further SYNs, so a connect hangs.
        // The handler has no connect timeout of its own; the probe's timeout must still end the probe.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                try
                {
                    await filler.ConnectAsync(endPoint, wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var clock = Stopwatch.StartNew();
            var result = await PollOnceAsync(Probe($"http://127.0.0.1:{endPoint.Port}/", timeout: "300ms"));

            Assert.Equal("timeout after 300ms", result.Failure);
            // The connect never completed: the probe ended in it, not in a request on an open connection.
            Assert.Null(result.Value(HttpSourceKind.ConnectSeconds));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the poll took {clock.Elapsed}");
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task PollAsync_ThreeProbesToAKeepAliveServer_OpenThreeConnectionsEachTimed()
    {
        // The server would serve every request on one connection: one accepted connection per probe means each probe
        // opened a fresh one, though the source keeps one handler for its life; each probe timed its own connect.
        await using var server = RawTcpServer.KeepAlive();
        await using var probe = TestConfigs.Create(Probe(server.Url.ToString()));

        var results = new List<PollResult>();
        for (var i = 0; i < 3; i++)
        {
            results.Add(await probe.PollAsync(CancellationToken.None));
        }

        Assert.All(results, r => Assert.True(r.Success, r.Failure));
        Assert.All(results, r => Assert.NotNull(r.Value(HttpSourceKind.ConnectSeconds)));
        Assert.Equal(3, server.ClientPorts.Distinct().Count());
    }

    [Fact]
    public async Task PollAsync_KeepAliveTrue_ThreeProbesShareOneConnection()
    {
        await using var server = RawTcpServer.KeepAlive();
        await using var probe = TestConfigs.Create(Probe(server.Url.ToString(), "keepAlive: true"));

        var results = new List<PollResult>();
        for (var i = 0; i < 3; i++)
        {
            results.Add(await probe.PollAsync(CancellationToken.None));
        }

        Assert.All(results, r => Assert.True(r.Success, r.Failure));
        Assert.Single(server.ClientPorts);
        // Only the probe that opened the connection measured a connect; the others found it open.
        Assert.NotNull(results[0].Value(HttpSourceKind.ConnectSeconds));
        Assert.Null(results[1].Value(HttpSourceKind.ConnectSeconds));
        Assert.Null(results[2].Value(HttpSourceKind.ConnectSeconds));
    }

    [Fact]
    public async Task PollAsync_KeepAliveTrue_AsksNotToCloseTheConnection()
    {
        Answer(200, "ok");
        await using var probe = TestConfigs.Create(Probe(Url, "keepAlive: true"));

        var result = await probe.PollAsync(CancellationToken.None);

        Assert.True(result.Success, result.Failure);
        Assert.NotEqual("close", Header(Assert.Single(Requests()), "Connection"), StringComparer.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PollAsync_ServerClosesWithoutAnswering_FailsWithTheReason()
    {
        await using var server = new RawTcpServer(async (stream, ct) => await RawTcpServer.ReadRequestHeadAsync(stream, ct));

        var result = await PollOnceAsync(Probe(server.Url.ToString()));

        Assert.False(result.Success);
        Assert.Equal("the server closed the connection without a response", result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
        Assert.Null(result.Value(HttpSourceKind.StatusCode));
    }

    [Fact]
    public async Task PollAsync_ServerAnswersGarbage_FailsWithInvalidResponse()
    {
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("this is not HTTP\r\n\r\n"u8.ToArray(), ct);
        });

        var result = await PollOnceAsync(Probe(server.Url.ToString()));

        Assert.False(result.Success);
        Assert.Equal("invalid HTTP response", result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_CallerTokenAlreadyCancelled_Throws()
    {
        Answer(200, "ok");
        await using var probe = TestConfigs.Create(Probe(Url));
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await probe.PollAsync(cancel.Token));
    }

    [Fact]
    public async Task PollAsync_CallerCancelsWhileWaiting_ThrowsPromptly()
    {
        // The server would answer after 10 s and the probe's own timeout is 14 s; the caller cancels after 200 ms. The
        // bound sits far from both so it tells a prompt cancel from waiting, not a quiet machine from a busy one: the
        // 200 ms timer itself fired about 2 s late once in a CI run, with the test assembly's threads all busy.
        Answer(200, "ok", delay: TimeSpan.FromSeconds(10));
        await using var probe = TestConfigs.Create(Probe(Url, timeout: "14s"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await probe.PollAsync(cancel.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the poll took {clock.Elapsed}");
    }
}
