using Roadmap.Sources.Jira;

namespace Roadmap.Sources.Tests.Jira;

public sealed class JiraSourceTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private const string Canary = "ATATT3xCANARY9e1d5c7b3a";
    private const string Jql = "project = SHOP AND issuetype = Incident AND statusCategory != Done";

    private static readonly string CanaryCredentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"ops@acme.example:{Canary}"));

    // Each test has its own site root on the shared server (Data Center under a context path).
    private readonly WireMockRoot _root = new(wiremock.Server);

    private string Url => _root.Url;

    private string CountPath => _root.Prefix + "/rest/api/3/search/approximate-count";

    private string SearchPath => _root.Prefix + "/rest/api/2/search";

    private static string Cloud(string token = "ATATT3xabc") => $"email: ops@acme.example\ntoken: {token}";

    private static string DataCenter(string token = "pat-abc") => $"edition: datacenter\ntoken: {token}";

    private static IResponseBuilder Json(string body, int status = 200) => WireMockRoot.Json(body, status, "application/json;charset=UTF-8");

    private void AnswerCount(IResponseBuilder response) => _root.Answer(CountPath, response, "POST");

    private void AnswerSearch(IResponseBuilder response) => _root.Answer(SearchPath, response);

    private List<IRequestMessage> Requests(string path) => _root.Requests(path);

    private static async Task<PollResult> PollOnceAsync(string yaml, Func<string, string?>? environment = null)
    {
        await using var source = JiraConfigs.Create(yaml, api: JiraConfigs.QuickRetries, environment: environment);
        return await source.PollAsync(CancellationToken.None);
    }

    [Fact]
    public async Task PollAsync_Cloud_PostsTheJqlToApproximateCountWithBasicAuth()
    {
        AnswerCount(Json("""{"count": 17}"""));

        var result = await PollOnceAsync(JiraConfigs.Yaml(Url, Cloud()));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(17, result.Value(JiraSourceKind.Count));
        Assert.Single(result.Samples);
        var request = Assert.Single(Requests(CountPath));
        Assert.Equal("POST", request.Method);
        using (var body = System.Text.Json.JsonDocument.Parse(request.Body!))
        {
            Assert.Equal(Jql, body.RootElement.GetProperty("jql").GetString());
            Assert.Single(body.RootElement.EnumerateObject());
        }

        Assert.StartsWith("application/json", Header(request, "Content-Type"), StringComparison.Ordinal);
        Assert.Equal("application/json", Header(request, "Accept"));
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ops@acme.example:ATATT3xabc")), Header(request, "Authorization"));
        Assert.Empty(Requests(SearchPath));
    }

    [Fact]
    public async Task PollAsync_DataCenter_SearchesWithMaxResultsZeroAndBearerToken()
    {
        AnswerSearch(Json("""{"startAt": 0, "maxResults": 0, "total": 123, "issues": []}"""));

        var result = await PollOnceAsync(JiraConfigs.Yaml(Url, DataCenter()));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(123, result.Value(JiraSourceKind.Count));
        var request = Assert.Single(Requests(SearchPath));
        Assert.Equal("GET", request.Method);
        Assert.Equal(Jql, request.Query!["jql"].Single());
        Assert.Equal("0", request.Query["maxResults"].Single());
        Assert.Equal("Bearer pat-abc", Header(request, "Authorization"));
        Assert.Empty(Requests(CountPath));
    }

    [Fact]
    public async Task PollAsync_NoToken_SendsNoAuthorization()
    {
        AnswerCount(Json("""{"count": 0}"""));

        var result = await PollOnceAsync(JiraConfigs.Yaml(Url));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(0, result.Value(JiraSourceKind.Count));
        Assert.Null(Header(Assert.Single(Requests(CountPath)), "Authorization"));
    }

    [Theory]
    [InlineData("cloud", """{"errorMessages": ["Error in the JQL Query: Expecting operator but got 'SHOP'. (line 1, character 9)"], "errors": {}}""",
        "HTTP 400 Bad Request: Error in the JQL Query: Expecting operator but got 'SHOP'. (line 1, character 9)")]
    [InlineData("datacenter", """{"errorMessages": ["The value 'NOPE' does not exist for the field 'project'."], "errors": {}}""",
        "HTTP 400 Bad Request: The value 'NOPE' does not exist for the field 'project'.")]
    [InlineData("cloud", """{"errorMessages": [], "errors": {"jql": "The JQL query is invalid."}}""",
        "HTTP 400 Bad Request: jql: The JQL query is invalid.")]
    [InlineData("datacenter", """<html><body>Bad Request</body></html>""", "HTTP 400 Bad Request")]
    public async Task PollAsync_BadJql_FailsWithJirasFirstErrorMessage(string edition, string body, string reason)
    {
        var answer = Json(body, 400);
        if (edition == "cloud")
        {
            AnswerCount(answer);
        }
        else
        {
            AnswerSearch(answer);
        }

        var result = await PollOnceAsync(JiraConfigs.Yaml(Url, edition == "cloud" ? Cloud() : DataCenter()));

        Assert.False(result.Success);
        Assert.Equal(reason, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_CloudApiMissing_FailsSuggestingDataCenter()
    {
        AnswerCount(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "text/html").WithBody("<html>Oops, you've found a dead link.</html>"));

        var result = await PollOnceAsync(JiraConfigs.Yaml(Url, Cloud()));

        Assert.Equal("HTTP 404 Not Found: no approximate-count API here (for Jira Data Center, set edition: datacenter)", result.Failure);
    }

    [Theory]
    [InlineData("cloud", """{"total": 3}""", "response has no count")]
    [InlineData("cloud", """{"count": "3"}""", "count is not a count: \"3\"")]
    [InlineData("cloud", """{"count": 1.5}""", "count is not a count: 1.5")]
    [InlineData("datacenter", """{"count": 3}""", "response has no total")]
    [InlineData("datacenter", """{"total": -1}""", "total is not a count: -1")]
    [InlineData("datacenter", """[]""", "response has no total")]
    public async Task PollAsync_BodyWithoutTheCount_FailsSayingWhy(string edition, string body, string reason)
    {
        if (edition == "cloud")
        {
            AnswerCount(Json(body));
        }
        else
        {
            AnswerSearch(Json(body));
        }

        var result = await PollOnceAsync(JiraConfigs.Yaml(Url, edition == "cloud" ? Cloud() : DataCenter()));

        Assert.False(result.Success);
        Assert.Equal(reason, result.Failure);
    }

    [Fact]
    public async Task PollAsync_429WithRetryAfter_FailsRateLimitedAndSendsNothingUntilItHasPassed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        AnswerCount(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "20").WithHeader("X-RateLimit-NearLimit", "true"));
        await using var source = JiraConfigs.Create(JiraConfigs.Yaml(Url, Cloud()), time);

        var first = await source.PollAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(10));
        var blocked = await source.PollAsync(CancellationToken.None);

        Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 20s before the next request", first.Failure);
        Assert.Equal("rate-limited (HTTP 429 Too Many Requests): no request until 2026-05-01T12:00:20Z", blocked.Failure);
        Assert.Single(Requests(CountPath));

        _root.Server.ResetMappings();
        AnswerCount(Json("""{"count": 4}"""));
        time.Advance(TimeSpan.FromSeconds(10));
        var after = await source.PollAsync(CancellationToken.None);

        Assert.True(after.Success, after.Failure);
        Assert.Equal(4, after.Value(JiraSourceKind.Count));
        Assert.Equal(2, Requests(CountPath).Count);
    }

    public static TheoryData<string, string, string> CanaryFaults => new()
    {
        { "cloud", "401", "HTTP 401 Unauthorized: authentication failed" },
        { "datacenter", "401", "HTTP 401 Unauthorized: authentication failed" },
        { "cloud", "403", "HTTP 403 Forbidden: permission denied" },
        { "cloud", "500", "HTTP 500 Internal Server Error" },
        { "cloud", "echo", "HTTP 400 Bad Request: token *** rejected for ***" },
        { "datacenter", "echo", "HTTP 400 Bad Request: token *** rejected for bearer" },
        { "cloud", "garbage body", "malformed JSON: " },
        { "cloud", "malformed JSON", "malformed JSON: " },
        { "datacenter", "wrong content type", "expected a JSON response, got content type text/html" },
        { "cloud", "connection reset", "connection reset by peer" },
        { "datacenter", "timeout", "timeout after 1s" },
    };

    [Theory]
    [MemberData(nameof(CanaryFaults))]
    public async Task PollAsync_FailureWithToken_NeverShowsTheTokenNorTheCredentials(string edition, string fault, string reason)
    {
        await using var raw = ApiKindFaults.RawServer(fault);
        if (raw is null)
        {
            var answer = fault switch
            {
                "401" => Json("""{"errorMessages": ["You are not authenticated."]}""", 401),
                "403" => Json("""{"errorMessages": ["Forbidden"]}""", 403).WithHeader("X-RateLimit-Remaining", "100"),
                // A server (or proxy) that echoes the request back must not get the token into a reason either.
                "echo" => Json($$"""{"errorMessages": ["token {{Canary}} rejected for {{(edition == "cloud" ? CanaryCredentials : "bearer")}}"]}""", 400),
                _ => ApiKindFaults.Answer(ApiKindFaults.Jira, fault),
            };
            if (edition == "cloud")
            {
                AnswerCount(answer);
            }
            else
            {
                AnswerSearch(answer);
            }
        }

        var result = await PollOnceAsync(
            JiraConfigs.Yaml(raw is null ? Url : raw.Url.ToString(), edition == "cloud" ? Cloud("${JIRA_TOKEN}") : DataCenter("${JIRA_TOKEN}"), timeout: ApiKindFaults.TimeoutFor(fault)),
            name => name == "JIRA_TOKEN" ? Canary : null);

        Assert.StartsWith(reason, result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary, result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary[7..], result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(CanaryCredentials, result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PollAsync_CallerTokenCancelled_Throws()
    {
        AnswerCount(Json("""{"count": 1}""").WithDelay(TimeSpan.FromSeconds(2)));
        await using var source = JiraConfigs.Create(JiraConfigs.Yaml(Url, Cloud(), timeout: "5s"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }
}
