using Roadmap.Sources.Prometheus;

namespace Roadmap.Sources.Tests.Prometheus;

public sealed class PrometheusSourceTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private readonly WireMockServer _server = wiremock.Server;

    // Each test has its own path prefix on the shared server, as if each talked to its own Prometheus.
    private readonly string _prefix = "/" + Guid.NewGuid().ToString("N");

    private string QueryPath => _prefix + "/api/v1/query";

    private string Source(string query = "up", string timeout = "5s", string extra = "", string? server = null) =>
        $"""
        - id: rum
          kind: prometheus
          timeout: {timeout}
          url: {server ?? _server.Url}{_prefix}
          query: '{query.Replace("'", "''", StringComparison.Ordinal)}'
        {string.Join('\n', extra.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l))}
        """;

    private void Answer(string body, int status = 200, string contentType = "application/json") =>
        _server.Given(Request.Create().WithPath(QueryPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", contentType).WithBody(body));

    private static string Success(string resultType, string result) =>
        $$$"""{"status":"success","data":{"resultType":"{{{resultType}}}","result":{{{result}}}}}""";

    private static string Vector(params string[] values) =>
        Success("vector", "[" + string.Join(",", values.Select((v, i) => $$"""{"metric":{"job":"j{{i}}"},"value":[1767225600.123,"{{v}}"]}""")) + "]");

    private List<IRequestMessage> Requests() =>
        [.. _server.LogEntries.Select(e => e.RequestMessage).Where(r => r.Path == QueryPath)];

    [Fact]
    public async Task PollAsync_VectorWithOneSeries_SamplesItsValue()
    {
        Answer(Vector("0.734"));

        var result = await ApiKinds.PollOnceAsync(Source("histogram_quantile(0.95, sum by (le) (rate(page_load_seconds_bucket[5m])))"));

        Assert.True(result.Success, result.Failure);
        var sample = Assert.Single(result.Samples);
        Assert.Equal(new Sample(PrometheusSourceKind.Value, 0.734), sample);
        Assert.True(result.Duration > TimeSpan.Zero);
    }

    [Theory]
    [InlineData("2", 2)]
    [InlineData("-3.5", -3.5)]
    [InlineData("1e+06", 1e6)]
    [InlineData("0", 0)]
    public async Task PollAsync_Scalar_SamplesItsValue(string text, double expected)
    {
        Answer(Success("scalar", $"[1767225600.123,\"{text}\"]"));

        var result = await ApiKinds.PollOnceAsync(Source("scalar(sum(up))"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value(PrometheusSourceKind.Value));
    }

    [Fact]
    public async Task PollAsync_Query_IsSentUrlEncodedWithTheHeaders()
    {
        Answer(Vector("1"));
        const string query = "sum(rate(http_requests_total{job=\"shop\", code=~\"5..\"}[5m])) / 2 + 1";

        var result = await ApiKinds.PollOnceAsync(
            Source(query, extra: """
                headers:
                  Authorization: Bearer ${TOKEN}
                  X-Scope-OrgID: tenant-1
                """),
            name => name == "TOKEN" ? "s3cret" : null);

        Assert.True(result.Success, result.Failure);
        var request = Assert.Single(Requests());
        Assert.Equal("GET", request.Method);
        Assert.Equal(query, request.Query!["query"].ToString());
        Assert.Equal("?query=" + Uri.EscapeDataString(query), request.RawQuery);
        Assert.Equal("Bearer s3cret", request.Headers!["Authorization"].ToString());
        Assert.Equal("tenant-1", request.Headers!["X-Scope-OrgID"].ToString());
        Assert.Equal("application/json", request.Headers!["Accept"].ToString());
    }

    public static TheoryData<string, string> NotOneNumber => new()
    {
        { Success("vector", "[]"), "the query returned no series" },
        { Vector("1", "2", "3"), "the query returned 3 series, expected one" },
        { Vector("1", "2"), "the query returned 2 series, expected one" },
        { Vector("NaN"), "the query returned NaN" },
        { Vector("+Inf"), "the query returned +Inf" },
        { Success("scalar", "[1767225600,\"NaN\"]"), "the query returned NaN" },
        { Success("scalar", "[1767225600,\"-Inf\"]"), "the query returned -Inf" },
        { Success("matrix", """[{"metric":{},"values":[[1767225600,"1"],[1767225601,"2"]]}]"""), "the query returned a range vector (matrix), expected an instant vector or a scalar" },
        { Success("string", "[1767225600,\"hello\"]"), "the query returned a string, expected a number" },
        { Success("vector", """[{"metric":{},"histogram":[1767225600,{"count":"3","sum":"1.5"}]}]"""), "the query returned a native histogram, expected a number" },
        { Success("scalar", "[1767225600,\"abc\"]"), "the query returned \"abc\", not a number" },
        { Success("scalar", "[1767225600, 1]"), "not a Prometheus query response: a sample is not [timestamp, \"value\"]" },
        { """{"status":"success"}""", "not a Prometheus query response: no data.resultType and data.result" },
        { """{"data":{}}""", "not a Prometheus query response: expected a JSON object with \"status\": \"success\" and \"data\"" },
        { """[1, 2]""", "not a Prometheus query response: expected a JSON object with \"status\": \"success\" and \"data\"" },
        { Success("exemplars", "[]"), "not a Prometheus query response: unknown resultType \"exemplars\"" },
    };

    [Theory]
    [MemberData(nameof(NotOneNumber))]
    public async Task PollAsync_ResultIsNotOneNumber_FailsSayingWhy(string body, string failure)
    {
        Answer(body);

        var result = await ApiKinds.PollOnceAsync(Source());

        Assert.False(result.Success);
        Assert.Equal(failure, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Theory]
    [InlineData(400, "bad_data", "invalid parameter \\\"query\\\": 1:5: parse error: unclosed left parenthesis", "query failed (bad_data): invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis")]
    [InlineData(422, "execution", "query processing would load too many samples into memory", "query failed (execution): query processing would load too many samples into memory")]
    [InlineData(503, "timeout", "query timed out in expression evaluation", "query failed (timeout): query timed out in expression evaluation")]
    [InlineData(200, "internal", "something odd", "query failed (internal): something odd")]
    public async Task PollAsync_StatusError_FailsWithErrorTypeAndError(int status, string errorType, string error, string failure)
    {
        Answer($$"""{"status":"error","errorType":"{{errorType}}","error":"{{error}}"}""", status);

        var result = await ApiKinds.PollOnceAsync(Source("sum(up"));

        Assert.False(result.Success);
        Assert.Equal(failure, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_ErrorStatusWithoutPrometheusBody_FailsWithTheStatus()
    {
        Answer("""{"message": "no such tenant"}""", 400);

        var result = await ApiKinds.PollOnceAsync(Source());

        Assert.Equal("HTTP 400 Bad Request", result.Failure);
    }

    [Fact]
    public async Task PollAsync_Unauthorized_FailsWithAuthentication()
    {
        Answer("Unauthorized", 401, "text/plain");

        var result = await ApiKinds.PollOnceAsync(Source());

        Assert.Equal("HTTP 401 Unauthorized: authentication failed", result.Failure);
        Assert.Single(Requests());
    }

    [Theory]
    [MemberData(nameof(ApiFaults.Names), MemberType = typeof(ApiFaults))]
    public async Task PollAsync_Fault_FailsWithTheReason(string fault)
    {
        await using var server = ApiFaults.Arrange(_server, QueryPath, fault);
        var clock = Stopwatch.StartNew();

        var result = await ApiKinds.PollOnceAsync(Source(timeout: ApiFaults.TimeoutFor(fault), server: server.BaseUrl));

        Assert.False(result.Success);
        ApiFaults.AssertReason(fault, result.Failure);
        Assert.Empty(result.Samples);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_CallerCancels_Throws()
    {
        _server.Given(Request.Create().WithPath(QueryPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(Vector("1")).WithDelay(TimeSpan.FromSeconds(3)));
        await using var source = ApiKinds.Create(Source());
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }

    [Fact]
    public async Task PollAsync_TwoPolls_ReuseTheSourcesClient()
    {
        Answer(Vector("1"));
        await using var source = ApiKinds.Create(Source());

        var first = await source.PollAsync(CancellationToken.None);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(2, Requests().Count);
    }
}
