using System.Globalization;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.Tests.Api;

public sealed class ApiClientTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly WireMockServer _server = wiremock.Server;

    // Each test has its own path on the shared server, and one mapping it can replace (same guid) to change the answer.
    private readonly string _path = "/" + Guid.NewGuid().ToString("N");
    private readonly Guid _mapping = Guid.NewGuid();

    private Uri Url => new(_server.Url + _path);

    /// <summary>Retries without the default backoff's wait, so the tests that count retries run in milliseconds.</summary>
    private static ApiClientOptions Quick(int maxRetries = 2) => new() { MaxRetries = maxRetries, RetryDelay = TimeSpan.FromMilliseconds(1) };

    private static ApiClient Client(TimeProvider time, string timeout = "5s", ApiClientOptions? options = null)
    {
        Assert.True(Durations.TryParse(timeout, out var limit));
        var source = new SourceConfig("api", "test", new PollSchedule(TimeSpan.FromMinutes(10), null), limit, new object(), []);
        return new ApiClient(source, new SourceContext(time, NullLoggerFactory.Instance), options);
    }

    private static FakeTimeProvider FakeClock() => new(Start);

    private async Task<ApiResult> SendAsync(ApiClient client, CancellationToken cancellationToken = default)
    {
        var call = client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url), cancellationToken);
        // A call that waits on a fake clock nobody moves would hang the test: fail it instead.
        var first = await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.True(first == call, $"the call still waits (on the clock?) after {Requests()} request(s)");
        return await call;
    }

    private void Answer(Func<IResponseBuilder, IResponseBuilder> response) =>
        _server.Given(Request.Create().WithPath(_path).UsingAnyMethod()).WithGuid(_mapping).RespondWith(response(Response.Create()));

    private void Answer(int status, string body = "{}", params (string Name, string Value)[] headers) =>
        Answer(r => WithHeaders(r.WithStatusCode(status).WithBody(body), headers));

    /// <summary>The first request gets <paramref name="first"/>, every later one 200 "{}".</summary>
    private void AnswerFirstThenOk(int first, params (string Name, string Value)[] headers)
    {
        var scenario = Guid.NewGuid().ToString("N");
        _server.Given(Request.Create().WithPath(_path).UsingAnyMethod())
            .InScenario(scenario).WillSetStateTo("answered")
            .RespondWith(WithHeaders(Response.Create().WithStatusCode(first).WithBody("{}"), headers));
        _server.Given(Request.Create().WithPath(_path).UsingAnyMethod())
            .InScenario(scenario).WhenStateIs("answered")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
    }

    private static IResponseBuilder WithHeaders(IResponseBuilder response, (string Name, string Value)[] headers)
    {
        foreach (var (name, value) in headers)
        {
            response = response.WithHeader(name, value);
        }

        return response;
    }

    private int Requests() => _server.LogEntries.Count(e => e.RequestMessage.Path == _path);

    private async Task WaitForRequestsAsync(int count)
    {
        var clock = Stopwatch.StartNew();
        while (Requests() < count)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"expected {count} request(s), saw {Requests()}");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task SendAsync_200_ReturnsTheBufferedResponse()
    {
        Answer(r => r.WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"a": 1}"""));
        using var client = Client(TimeProvider.System);

        var result = await SendAsync(client);

        Assert.Null(result.Failure);
        var response = Assert.IsType<ApiResponse>(result.Response);
        Assert.Equal(200, response.Status);
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal("""{"a": 1}""", response.Text);
        Assert.Equal(1, Requests());
    }

    [Fact]
    public async Task SendAsync_500ThenOk_RetriesAndSucceeds()
    {
        AnswerFirstThenOk(500);
        using var client = Client(TimeProvider.System, options: Quick());

        var result = await SendAsync(client);

        Assert.Null(result.Failure);
        Assert.Equal(200, result.Response!.Status);
        Assert.Equal(2, Requests());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(4, 5)]
    public async Task SendAsync_Always503_TriesOnceMoreThanMaxRetries(int maxRetries, int requests)
    {
        Answer(503);
        using var client = Client(TimeProvider.System, options: Quick(maxRetries));

        var result = await SendAsync(client);

        Assert.Equal("HTTP 503 Service Unavailable", result.Failure);
        Assert.Null(result.Response);
        Assert.Equal(requests, Requests());
    }

    [Theory]
    [InlineData(400, "HTTP 400 Bad Request")]
    [InlineData(401, "HTTP 401 Unauthorized: authentication failed")]
    [InlineData(404, "HTTP 404 Not Found")]
    [InlineData(422, "HTTP 422 Unprocessable Entity")]
    public async Task SendAsync_ClientError_IsNotRetried(int status, string failure)
    {
        Answer(status);
        using var client = Client(TimeProvider.System, options: Quick());

        var result = await SendAsync(client);

        Assert.Equal(failure, result.Failure);
        Assert.Equal(1, Requests());
    }

    [Fact]
    public async Task SendAsync_ErrorStatusTheCallerReads_ReturnsTheResponse()
    {
        Answer(r => r.WithStatusCode(400).WithHeader("Content-Type", "application/json").WithBody("""{"error": "bad query"}"""));
        using var client = Client(TimeProvider.System, options: Quick());

        var result = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url), r => r.Status == 400, CancellationToken.None);

        Assert.Null(result.Failure);
        Assert.Equal(400, result.Response!.Status);
        Assert.Contains("bad query", result.Response.Text, StringComparison.Ordinal);
        Assert.Equal(1, Requests());
    }

    [Fact]
    public async Task SendAsync_RateLimitTheCallerWouldRead_IsStillARateLimit()
    {
        Answer(r => r.WithStatusCode(429).WithHeader("Content-Type", "application/json").WithHeader("Retry-After", "120").WithBody("""{"error": "slow down"}"""));
        var time = FakeClock();
        using var client = Client(time);

        var first = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url), _ => true, CancellationToken.None);
        var second = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url), _ => true, CancellationToken.None);

        Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 2m before the next request", first.Failure);
        Assert.Null(first.Response);
        Assert.StartsWith("rate-limited (", second.Failure, StringComparison.Ordinal);
        Assert.Equal(1, Requests());
    }

    [Fact]
    public async Task SendAsync_429WithShortRetryAfter_RetriesAfterTheWait()
    {
        AnswerFirstThenOk(429, ("Retry-After", "2"));
        var time = FakeClock();
        using var client = Client(time, timeout: "10s");

        var poll = SendAsync(client);
        await WaitForRequestsAsync(1);
        // Move the clock in small steps and note how far it had gone when the retry came.
        var advanced = TimeSpan.Zero;
        while (Requests() < 2 && advanced < TimeSpan.FromSeconds(4))
        {
            await Task.Delay(10);
            time.Advance(TimeSpan.FromMilliseconds(250));
            advanced += TimeSpan.FromMilliseconds(250);
        }

        var result = await poll;

        Assert.Null(result.Failure);
        Assert.Equal(2, Requests());
        Assert.True(advanced >= TimeSpan.FromSeconds(2), $"retried after {advanced} of the 2s Retry-After");
    }

    [Fact]
    public async Task SendAsync_429WithLongRetryAfter_IsNotRetriedAndBlocksUntilThen()
    {
        AnswerFirstThenOk(429, ("Retry-After", "120"));
        var time = FakeClock();
        using var client = Client(time, timeout: "10s");

        var first = await SendAsync(client);
        time.Advance(TimeSpan.FromSeconds(119));
        var blocked = await SendAsync(client);

        Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 2m before the next request", first.Failure);
        Assert.Equal("rate-limited (HTTP 429 Too Many Requests): no request until 2026-01-01T00:02:00Z", blocked.Failure);
        Assert.Equal(1, Requests());

        time.Advance(TimeSpan.FromSeconds(1));
        var after = await SendAsync(client);

        Assert.Null(after.Failure);
        Assert.Equal(2, Requests());
    }

    [Fact]
    public async Task SendAsync_RetryAfterAsADate_BlocksUntilThatDate()
    {
        AnswerFirstThenOk(503, ("Retry-After", Start.AddMinutes(5).ToString("R", CultureInfo.InvariantCulture)));
        var time = FakeClock();
        using var client = Client(time);

        var first = await SendAsync(client);

        // A 503 is not a rate limit: it fails without blocking, and without a retry (the wait does not fit).
        Assert.Equal("HTTP 503 Service Unavailable", first.Failure);
        Assert.Equal(1, Requests());
        var second = await SendAsync(client);
        Assert.Null(second.Failure);
        Assert.Equal(2, Requests());
    }

    [Theory]
    [InlineData(403, "HTTP 403 Forbidden")]
    [InlineData(429, "HTTP 429 Too Many Requests")]
    public async Task SendAsync_RateLimitSpent_BlocksUntilTheReset(int status, string statusLine)
    {
        var reset = Start.AddMinutes(5).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        AnswerFirstThenOk(status, ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset));
        var time = FakeClock();
        using var client = Client(time);

        var first = await SendAsync(client);
        time.Advance(TimeSpan.FromSeconds(299));
        var blocked = await SendAsync(client);

        Assert.Equal($"rate-limited: {statusLine}, waiting 5m before the next request", first.Failure);
        Assert.Equal($"rate-limited ({statusLine}): no request until 2026-01-01T00:05:00Z", blocked.Failure);
        Assert.Equal(1, Requests());

        time.Advance(TimeSpan.FromSeconds(1));
        var after = await SendAsync(client);

        Assert.Null(after.Failure);
        Assert.Equal(2, Requests());
    }

    [Fact]
    public async Task SendAsync_RateLimitResetAsSeconds_BlocksForThatLong()
    {
        AnswerFirstThenOk(429, ("ratelimit-remaining", "0"), ("ratelimit-reset", "90"));
        var time = FakeClock();
        using var client = Client(time);

        var first = await SendAsync(client);
        time.Advance(TimeSpan.FromSeconds(89));
        var blocked = await SendAsync(client);
        time.Advance(TimeSpan.FromSeconds(1));
        var after = await SendAsync(client);

        Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 1m30s before the next request", first.Failure);
        Assert.StartsWith("rate-limited (HTTP 429 Too Many Requests): no request until", blocked.Failure, StringComparison.Ordinal);
        Assert.Null(after.Failure);
        Assert.Equal(2, Requests());
    }

    [Theory]
    [InlineData(429, "HTTP 429 Too Many Requests")]
    [InlineData(403, "HTTP 403 Forbidden")]
    public async Task SendAsync_BareRateLimit_IsNotRetriedAndBlocksFor60Seconds(int status, string statusLine)
    {
        // GitHub: a rate-limit answer without Retry-After or rate-limit headers means "wait at least a minute".
        AnswerFirstThenOk(status);
        var time = FakeClock();
        using var client = Client(time);

        var first = await SendAsync(client);

        Assert.Equal($"rate-limited: {statusLine}, waiting 1m before the next request", first.Failure);
        Assert.Equal(1, Requests());

        time.Advance(TimeSpan.FromSeconds(59));
        var blocked = await SendAsync(client);
        Assert.Equal($"rate-limited ({statusLine}): no request until 2026-01-01T00:01:00Z", blocked.Failure);
        Assert.Equal(1, Requests());

        time.Advance(TimeSpan.FromSeconds(1));
        var after = await SendAsync(client);
        Assert.Null(after.Failure);
        Assert.Equal(2, Requests());
    }

    [Fact]
    public async Task SendAsync_403WithQuotaLeft_IsPermissionDeniedAndDoesNotBlock()
    {
        Answer(403, """{"message": "Resource not accessible by integration"}""", ("x-ratelimit-remaining", "42"), ("x-ratelimit-reset", "1767225900"));
        var time = FakeClock();
        using var client = Client(time);

        var first = await SendAsync(client);
        var second = await SendAsync(client);

        Assert.Equal("HTTP 403 Forbidden: permission denied", first.Failure);
        Assert.Equal("HTTP 403 Forbidden: permission denied", second.Failure);
        Assert.Equal(2, Requests());
    }

    [Theory]
    [InlineData(1 << 20, null)]
    [InlineData((1 << 20) + 1, "response body over the 1024 KiB cap")]
    [InlineData(3 << 20, "response body over the 1024 KiB cap")]
    public async Task SendAsync_BodySize_OverTheCapFailsWithTheCap(int size, string? failure)
    {
        Answer(200, new string('x', size));
        using var client = Client(TimeProvider.System, options: Quick());

        var result = await SendAsync(client);

        Assert.Equal(failure, result.Failure);
        Assert.Equal(failure is null ? size : null, result.Response?.Body.Length);
        Assert.Equal(1, Requests());
    }

    [Theory]
    [InlineData(1000, "response body over the 1000 bytes cap")]
    [InlineData(4096, "response body over the 4 KiB cap")]
    public async Task SendAsync_BodyOverAConfiguredCap_NamesTheCapExactly(int cap, string failure)
    {
        Answer(200, new string('x', cap + 1));
        using var client = Client(TimeProvider.System, options: new ApiClientOptions { MaxResponseBytes = cap });

        var result = await SendAsync(client);

        Assert.Equal(failure, result.Failure);
    }

    [Fact]
    public async Task SendAsync_ChunkedBodyOverTheCap_StopsReadingAndFails()
    {
        // No Content-Length: the cap has to be enforced while reading.
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"u8.ToArray(), ct);
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'x');
            for (var i = 0; i < 32; i++)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{chunk.Length:x}\r\n"), ct);
                await stream.WriteAsync(chunk, ct);
                await stream.WriteAsync("\r\n"u8.ToArray(), ct);
            }

            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
        });
        using var client = Client(TimeProvider.System, options: Quick());

        var result = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, server.Url), CancellationToken.None);

        Assert.Equal("response body over the 1024 KiB cap", result.Failure);
        Assert.Single(server.ClientPorts);
    }

    [Fact]
    public async Task SendAsync_SlowerThanTheTimeout_FailsWithTimeoutInTime()
    {
        Answer(r => r.WithStatusCode(200).WithBody("{}").WithDelay(TimeSpan.FromSeconds(20)));
        using var client = Client(TimeProvider.System, timeout: "400ms");
        var clock = Stopwatch.StartNew();

        var result = await SendAsync(client);

        Assert.Equal("timeout after 400ms", result.Failure);
        // Far from the 20 s answer: a timeout that fired, whatever a busy CI machine does to the 400 ms timer.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the call took {clock.Elapsed}");
    }

    [Fact]
    public async Task SendAsync_NothingListening_FailsWithConnectionRefused()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = Client(TimeProvider.System, options: Quick());

        var result = await client.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/"), CancellationToken.None);

        Assert.Equal("connection refused", result.Failure);
    }

    [Fact]
    public async Task SendAsync_FiveFailedPolls_OpensTheCircuitThenLetsATrialThroughAfterTheBreak()
    {
        Answer(500);
        var time = FakeClock();
        using var client = Client(time, options: Quick(maxRetries: 0));

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("HTTP 500 Internal Server Error", (await SendAsync(client)).Failure);
        }

        var open = await SendAsync(client);
        Assert.Equal("circuit open after 5 failed polls in a row; next try in 1m", open.Failure);
        Assert.Equal(5, Requests());

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("circuit open after 5 failed polls in a row; next try in 30s", (await SendAsync(client)).Failure);
        Assert.Equal(5, Requests());

        time.Advance(TimeSpan.FromSeconds(30));
        Answer(200);
        var trial = await SendAsync(client);
        var next = await SendAsync(client);

        Assert.Null(trial.Failure);
        Assert.Null(next.Failure);
        Assert.Equal(7, Requests());
    }

    [Fact]
    public async Task SendAsync_TrialPollFails_ReopensTheCircuitForAnotherBreak()
    {
        Answer(500);
        var time = FakeClock();
        using var client = Client(time, options: Quick(maxRetries: 0));
        for (var i = 0; i < 5; i++)
        {
            await SendAsync(client);
        }

        time.Advance(TimeSpan.FromMinutes(1));
        var trial = await SendAsync(client);
        var after = await SendAsync(client);

        Assert.Equal("HTTP 500 Internal Server Error", trial.Failure);
        Assert.Equal("circuit open after 5 failed polls in a row; next try in 1m", after.Failure);
        Assert.Equal(6, Requests());
    }

    [Fact]
    public async Task SendAsync_FourFailedPollsThenASuccess_KeepsTheCircuitClosed()
    {
        var time = FakeClock();
        using var client = Client(time, options: Quick(maxRetries: 0));
        Answer(500);
        for (var i = 0; i < 4; i++)
        {
            await SendAsync(client);
        }

        Answer(200);
        Assert.Null((await SendAsync(client)).Failure);
        Answer(500);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("HTTP 500 Internal Server Error", (await SendAsync(client)).Failure);
        }

        Assert.Equal(9, Requests());
    }

    [Fact]
    public async Task SendAsync_FivePollsFailAfterASuccess_OpensTheCircuit()
    {
        // The usual way a source breaks: it worked, then it stops working.
        var time = FakeClock();
        using var client = Client(time, options: Quick(maxRetries: 0));
        Answer(200);
        Assert.Null((await SendAsync(client)).Failure);
        Answer(500);
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(15));
            Assert.Equal("HTTP 500 Internal Server Error", (await SendAsync(client)).Failure);
        }

        time.Advance(TimeSpan.FromSeconds(15));
        var sixth = await SendAsync(client);

        Assert.Equal("circuit open after 5 failed polls in a row; next try in 45s", sixth.Failure);
        Assert.Equal(6, Requests());
    }

    [Fact]
    public async Task SendAsync_FivePollsTimeOut_OpensTheCircuit()
    {
        // With the default retries, the poll's own timeout ends each of these polls (during a retry's backoff).
        Answer(r => r.WithStatusCode(200).WithBody("{}").WithDelay(TimeSpan.FromSeconds(5)));
        using var client = Client(TimeProvider.System, timeout: "250ms");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("timeout after 250ms", (await SendAsync(client)).Failure);
        }

        var sixth = await SendAsync(client);

        Assert.StartsWith("circuit open after 5 failed polls in a row", sixth.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_RateLimitedPolls_DoNotCountTowardsTheCircuit()
    {
        // A blocked poll sends nothing, so it says nothing about the server's health.
        var time = FakeClock();
        using var client = Client(time, options: Quick(maxRetries: 0));
        Answer(429, "{}", ("Retry-After", "600"));
        await SendAsync(client);
        for (var i = 0; i < 10; i++)
        {
            Assert.StartsWith("rate-limited (", (await SendAsync(client)).Failure, StringComparison.Ordinal);
        }

        time.Advance(TimeSpan.FromMinutes(10));
        Answer(200);

        Assert.Null((await SendAsync(client)).Failure);
        Assert.Equal(2, Requests());
    }

    [Fact]
    public async Task SendAsync_CallerCancels_Throws()
    {
        Answer(r => r.WithStatusCode(200).WithBody("{}").WithDelay(TimeSpan.FromSeconds(3)));
        using var client = Client(TimeProvider.System);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SendAsync(client, cancel.Token));
    }
}
