namespace Roadmap.Sources.Tests.Json;

public sealed class JsonSourceTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private const string Stats = """
        {
          "sessions": {"bounceRate": 0.42, "count": 1200, "avgSeconds": "12.5", "label": "abc"},
          "pages": [{"p95": 1.5}, {"p95": 2.5}],
          "cache hit": {"ratio": "0.93"},
          "healthy": true,
          "degraded": false,
          "nothing": null,
          "big": 1e400
        }
        """;

    private readonly WireMockServer _server = wiremock.Server;

    // Each test has its own path on the shared server.
    private readonly string _path = "/" + Guid.NewGuid().ToString("N");

    /// <summary>A json source reading this test's path; <paramref name="signals"/> are "name: path" YAML lines.</summary>
    private string Source(string signals, string timeout = "5s", string extra = "", string? server = null) =>
        $"""
        - id: analytics
          kind: json
          timeout: {timeout}
          url: {server ?? _server.Url}{_path}
          signals:
        {string.Join('\n', signals.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l))}
        {string.Join('\n', extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l))}
        """;

    private void Answer(string body, string contentType = "application/json", int status = 200) =>
        _server.Given(Request.Create().WithPath(_path).UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", contentType).WithBody(body));

    private List<IRequestMessage> Requests() =>
        [.. _server.LogEntries.Select(e => e.RequestMessage).Where(r => r.Path == _path)];

    [Fact]
    public async Task PollAsync_EverySignalResolves_SamplesEachInOrder()
    {
        Answer(Stats);

        var result = await ApiKinds.PollOnceAsync(Source("""
            bounce_rate: $.sessions.bounceRate
            visits: $.sessions.count
            p95_seconds: $.pages[1].p95
            hit_ratio: "$['cache hit'].ratio"
            """));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(
            [new Sample("bounce_rate", 0.42), new Sample("visits", 1200), new Sample("p95_seconds", 2.5), new Sample("hit_ratio", 0.93)],
            result.Samples);
        Assert.True(result.Duration > TimeSpan.Zero);
    }

    [Theory]
    [InlineData("$.sessions.avgSeconds", 12.5)]
    [InlineData("$['cache hit']['ratio']", 0.93)]
    [InlineData("$.healthy", 1)]
    [InlineData("$.degraded", 0)]
    [InlineData("$.pages[-1].p95", 2.5)]
    public async Task PollAsync_NumberInAStringOrBoolean_IsRead(string path, double expected)
    {
        Answer(Stats);

        var result = await ApiKinds.PollOnceAsync(Source($"value: \"{path}\""));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value("value"));
    }

    [Theory]
    [InlineData("\"1e3\"", 1000)]
    [InlineData("\" 7 \"", 7)]
    [InlineData("\"-0.5\"", -0.5)]
    [InlineData("3", 3)]
    public async Task PollAsync_RootIsTheNumber_IsRead(string body, double expected)
    {
        Answer(body);

        var result = await ApiKinds.PollOnceAsync(Source("value: $"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value("value"));
    }

    [Theory]
    [InlineData("$.sessions.bounce", "$.sessions.bounce: not found")]
    [InlineData("$.pages[5].p95", "$.pages[5].p95: not found")]
    [InlineData("$.sessions.label", "$.sessions.label: \"abc\" is not a number")]
    [InlineData("$.nothing", "$.nothing: null is not a number")]
    [InlineData("$.sessions", "$.sessions: an object is not a number")]
    [InlineData("$.pages", "$.pages: a list is not a number")]
    [InlineData("$.big", "$.big: 1e400 is not a number")]
    public async Task PollAsync_MissingOrNonNumericValue_FailsNamingThePath(string path, string failure)
    {
        Answer(Stats);

        var result = await ApiKinds.PollOnceAsync(Source($"value: \"{path}\""));

        Assert.False(result.Success);
        Assert.Equal(failure, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Theory]
    [InlineData("\"NaN\"")]
    [InlineData("\"Infinity\"")]
    [InlineData("\"12,5\"")]
    [InlineData("\"12.5%\"")]
    [InlineData("\"\"")]
    public async Task PollAsync_StringThatIsNotAFiniteNumber_Fails(string body)
    {
        Answer($$"""{"x": {{body}}}""");

        var result = await ApiKinds.PollOnceAsync(Source("value: $.x"));

        Assert.Equal($"$.x: {body} is not a number", result.Failure);
    }

    [Fact]
    public async Task PollAsync_OneSignalOfSeveralFails_FailsWithItsReasonAndKeepsTheOthers()
    {
        Answer("""{"sessions": {"count": 1200, "avgSeconds": "12.5"}}""");

        var result = await ApiKinds.PollOnceAsync(Source("""
            visits: $.sessions.count
            bounce_rate: $.sessions.bounceRate
            avg_seconds: $.sessions.avgSeconds
            """));

        Assert.False(result.Success);
        Assert.Equal("$.sessions.bounceRate: not found", result.Failure);
        Assert.Equal([new Sample("visits", 1200), new Sample("avg_seconds", 12.5)], result.Samples);
    }

    [Fact]
    public async Task PollAsync_SeveralSignalsFail_NamesEachPath()
    {
        Answer("""{"a": 1, "b": "x"}""");

        var result = await ApiKinds.PollOnceAsync(Source("""
            a: $.a
            b: $.b
            c: $.c
            """));

        Assert.Equal("$.b: \"x\" is not a number; $.c: not found", result.Failure);
        Assert.Equal([new Sample("a", 1)], result.Samples);
    }

    [Fact]
    public async Task PollAsync_MethodAndHeaders_ReachTheServer()
    {
        Answer(Stats);

        var result = await ApiKinds.PollOnceAsync(
            Source("visits: $.sessions.count", extra: """
                method: POST
                headers:
                  Authorization: Bearer ${TOKEN}
                  Content-Type: application/json
                """),
            name => name == "TOKEN" ? "s3cret" : null);

        Assert.True(result.Success, result.Failure);
        var request = Assert.Single(Requests());
        Assert.Equal("POST", request.Method);
        Assert.Equal("Bearer s3cret", request.Headers!["Authorization"].ToString());
        Assert.Equal("application/json", request.Headers!["Content-Type"].ToString());
        Assert.Equal("application/json", request.Headers!["Accept"].ToString());
    }

    [Fact]
    public async Task PollAsync_NoContentType_IsReadAsJson()
    {
        _server.Given(Request.Create().WithPath(_path).UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"a": 5}"""));

        var result = await ApiKinds.PollOnceAsync(Source("a: $.a"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(5, result.Value("a"));
    }

    [Theory]
    [InlineData(404, "HTTP 404 Not Found")]
    [InlineData(401, "HTTP 401 Unauthorized: authentication failed")]
    [InlineData(403, "rate-limited: HTTP 403 Forbidden, waiting 1m before the next request")] // bare: no rate-limit headers
    public async Task PollAsync_ErrorStatus_FailsWithTheStatusAndIsNotRetried(int status, string failure)
    {
        Answer("""{"error": "nope"}""", status: status);

        var result = await ApiKinds.PollOnceAsync(Source("a: $.a"));

        Assert.Equal(failure, result.Failure);
        Assert.Single(Requests());
    }

    [Theory]
    [MemberData(nameof(ApiFaults.Names), MemberType = typeof(ApiFaults))]
    public async Task PollAsync_Fault_FailsWithTheReason(string fault)
    {
        await using var server = ApiFaults.Arrange(_server, _path, fault);
        var clock = Stopwatch.StartNew();

        var result = await ApiKinds.PollOnceAsync(Source("a: $.a", timeout: ApiFaults.TimeoutFor(fault), server: server.BaseUrl));

        Assert.False(result.Success);
        ApiFaults.AssertReason(fault, result.Failure);
        Assert.Empty(result.Samples);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_CallerCancels_Throws()
    {
        _server.Given(Request.Create().WithPath(_path).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{}").WithDelay(TimeSpan.FromSeconds(20)));
        await using var source = ApiKinds.Create(Source("a: $.a"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));

        // Far from the 20 s answer: a prompt cancel, whatever a busy CI machine does to the 100 ms timer.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the poll took {clock.Elapsed}");
    }
}
