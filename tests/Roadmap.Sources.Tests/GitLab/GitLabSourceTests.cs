using Roadmap.Sources.GitLab;

namespace Roadmap.Sources.Tests.GitLab;

public sealed class GitLabSourceTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private const string Canary = "glpat-CANARY4d8e2b6a0c";
    private const string Statistics = """{"statistics": {"counts": {"all": 20, "closed": 7, "opened": 13}}}""";

    // Each test has its own instance root on the shared server (GitLab under a relative URL).
    private readonly WireMockRoot _root = new(wiremock.Server);

    private string Url => _root.Url;

    // WireMock matches the decoded path; the requests' escaped form (acme%2Fshop) is asserted on their URL.
    private string StatisticsPath => _root.Prefix + "/api/v4/projects/acme/shop/issues_statistics";

    private string IssuesPath => _root.Prefix + "/api/v4/projects/acme/shop/issues";

    private static IResponseBuilder Json(string body, int status = 200) => WireMockRoot.Json(body, status, "application/json");

    private void Answer(string path, IResponseBuilder response) => _root.Answer(path, response);

    private List<IRequestMessage> Requests(string path) => _root.Requests(path);

    private static async Task<PollResult> PollOnceAsync(string yaml, Func<string, string?>? environment = null)
    {
        await using var source = GitLabConfigs.Create(yaml, api: GitLabConfigs.QuickRetries, environment: environment);
        return await source.PollAsync(CancellationToken.None);
    }

    [Fact]
    public async Task PollAsync_Statistics_CountsOpenedWithTheDocumentedRequest()
    {
        Answer(StatisticsPath, Json(Statistics));

        var result = await PollOnceAsync(
            GitLabConfigs.Yaml(Url, "labels: [bug, \"priority::high\"]\ntoken: ${GITLAB_TOKEN}"),
            name => name == "GITLAB_TOKEN" ? "glpat-abc" : null);

        Assert.True(result.Success, result.Failure);
        Assert.Equal(13, result.Value(GitLabSourceKind.Count));
        Assert.Single(result.Samples);
        var request = Assert.Single(Requests(StatisticsPath));
        Assert.EndsWith("/api/v4/projects/acme%2Fshop/issues_statistics?scope=all&labels=bug,priority%3A%3Ahigh", request.AbsoluteUrl, StringComparison.Ordinal);
        Assert.Equal(["bug", "priority::high"], request.Query!["labels"]);
        Assert.Equal("glpat-abc", Header(request, "PRIVATE-TOKEN"));
        Assert.Null(Header(request, "Authorization"));
        Assert.Empty(Requests(IssuesPath));
    }

    [Theory]
    [InlineData("opened", 13)]
    [InlineData("closed", 7)]
    [InlineData("all", 20)]
    public async Task PollAsync_State_ReadsThatCount(string state, int expected)
    {
        Answer(StatisticsPath, Json(Statistics));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url, $"state: {state}"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value(GitLabSourceKind.Count));
    }

    [Fact]
    public async Task PollAsync_NoToken_SendsNoPrivateToken()
    {
        Answer(StatisticsPath, Json(Statistics));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url));

        Assert.True(result.Success, result.Failure);
        Assert.Null(Header(Assert.Single(Requests(StatisticsPath)), "PRIVATE-TOKEN"));
    }

    [Fact]
    public async Task PollAsync_StatisticsAnswers404_FallsBackToXTotalAndStaysThere()
    {
        Answer(StatisticsPath, Json("""{"error": "404 Not Found"}""", 404));
        Answer(IssuesPath, Json("""[{"iid": 1}]""").WithHeader("X-Total", "57").WithHeader("X-Total-Pages", "57"));
        await using var source = GitLabConfigs.Create(GitLabConfigs.Yaml(Url, "labels: [bug]\nstate: closed\ntoken: glpat-abc"), api: GitLabConfigs.QuickRetries);

        var first = await source.PollAsync(CancellationToken.None);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(57, first.Value(GitLabSourceKind.Count));
        Assert.Equal(57, second.Value(GitLabSourceKind.Count));
        Assert.Single(Requests(StatisticsPath));
        var issues = Requests(IssuesPath);
        Assert.Equal(2, issues.Count);
        Assert.EndsWith("/api/v4/projects/acme%2Fshop/issues?scope=all&state=closed&per_page=1&labels=bug", issues[0].AbsoluteUrl, StringComparison.Ordinal);
        Assert.Equal("glpat-abc", Header(issues[0], "PRIVATE-TOKEN"));
    }

    [Fact]
    public async Task PollAsync_ProjectNotFound_FailsWithGitLabsMessageAndTriesStatisticsAgain()
    {
        Answer(StatisticsPath, Json("""{"message": "404 Project Not Found"}""", 404));
        Answer(IssuesPath, Json("""{"message": "404 Project Not Found"}""", 404));
        await using var source = GitLabConfigs.Create(GitLabConfigs.Yaml(Url), api: GitLabConfigs.QuickRetries);

        var first = await source.PollAsync(CancellationToken.None);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.Equal("HTTP 404 Not Found: 404 Project Not Found", first.Failure);
        Assert.Equal("HTTP 404 Not Found: 404 Project Not Found", second.Failure);
        Assert.Equal(2, Requests(StatisticsPath).Count);
        Assert.Equal(2, Requests(IssuesPath).Count);
    }

    [Theory]
    [InlineData("""{"message": {"labels": ["is invalid"]}}""", "HTTP 400 Bad Request: labels is invalid")]
    [InlineData("""{"error": "scope does not have a valid value"}""", "HTTP 400 Bad Request: scope does not have a valid value")]
    [InlineData("""{"unexpected": true}""", "HTTP 400 Bad Request")]
    [InlineData("<html>Bad Request</html>", "HTTP 400 Bad Request")]
    public async Task PollAsync_400_FailsWithGitLabsWords(string body, string reason)
    {
        Answer(StatisticsPath, Json(body, 400));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url));

        Assert.Equal(reason, result.Failure);
        Assert.Empty(Requests(IssuesPath));
    }

    /// <summary>
    /// GitLab answers a token that lacks the read_api scope with a 403 and no rate-limit headers. ApiClient takes every
    /// such bare 403 for a rate limit — the reason says "rate-limited" and requests stop for a minute — where the
    /// operator needs to read "permission denied". Fails until ApiClient tells a permission 403 from a rate limit.
    /// </summary>
    [Fact]
    public async Task PollAsync_403InsufficientScope_FailsPermissionDenied()
    {
        Answer(StatisticsPath, Json(
            """{"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the access token.", "scope": "api read_api"}""",
            403));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url, "token: glpat-abc"));

        Assert.StartsWith("HTTP 403 Forbidden: permission denied", result.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "response has no X-Total header (GitLab leaves it out above 10,000 issues)")]
    [InlineData("many", "X-Total header is not a count: many")]
    [InlineData("-3", "X-Total header is not a count: -3")]
    public async Task PollAsync_FallbackWithoutATotal_FailsSayingWhy(string? total, string reason)
    {
        Answer(StatisticsPath, Json("""{"error": "404 Not Found"}""", 404));
        var list = Json("[]");
        Answer(IssuesPath, total is null ? list : list.WithHeader("X-Total", total));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url));

        Assert.False(result.Success);
        Assert.Equal(reason, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Theory]
    [InlineData("""{"statistics": {"counts": {"all": 1, "closed": 1}}}""", "response has no statistics.counts.opened")]
    [InlineData("""{"statistics": {}}""", "response has no statistics.counts.opened")]
    [InlineData("""{"counts": {"opened": 3}}""", "response has no statistics.counts.opened")]
    [InlineData("""[]""", "response has no statistics.counts.opened")]
    [InlineData("""{"statistics": {"counts": {"opened": "3"}}}""", "statistics.counts.opened is not a count: \"3\"")]
    [InlineData("""{"statistics": {"counts": {"opened": null}}}""", "statistics.counts.opened is not a count: null")]
    public async Task PollAsync_StatisticsWithoutTheCount_FailsSayingWhy(string body, string reason)
    {
        Answer(StatisticsPath, Json(body));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url));

        Assert.False(result.Success);
        Assert.Equal(reason, result.Failure);
    }

    [Fact]
    public async Task PollAsync_SlowFallback_EndsWithinTheOneTimeout()
    {
        Answer(StatisticsPath, Json("""{"error": "404 Not Found"}""", 404).WithDelay(TimeSpan.FromMilliseconds(500)));
        Answer(IssuesPath, Json("[]").WithHeader("X-Total", "1").WithDelay(TimeSpan.FromSeconds(3)));

        var result = await PollOnceAsync(GitLabConfigs.Yaml(Url, timeout: "1s"));

        Assert.Equal("timeout after 1s", result.Failure);
        // One timeout for the whole poll, not one per request: two would take at least 2 s. (1.4 s failed once in CI.)
        Assert.True(result.Duration < TimeSpan.FromSeconds(1.9), $"the poll took {result.Duration}");
    }

    [Fact]
    public async Task PollAsync_429WithRateLimitReset_FailsRateLimitedAndSendsNothingUntilTheReset()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        var reset = time.GetUtcNow().AddSeconds(45).ToUnixTimeSeconds();
        // GitLab's own rate limiter: RateLimit-* headers, reset as epoch seconds.
        Answer(StatisticsPath, Response.Create().WithStatusCode(429).WithHeader("Content-Type", "text/plain").WithBody("Retry later")
            .WithHeader("RateLimit-Limit", "600")
            .WithHeader("RateLimit-Remaining", "0")
            .WithHeader("RateLimit-Reset", reset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var source = GitLabConfigs.Create(GitLabConfigs.Yaml(Url), time);

        var first = await source.PollAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));
        var blocked = await source.PollAsync(CancellationToken.None);

        Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 45s before the next request", first.Failure);
        Assert.Equal("rate-limited (HTTP 429 Too Many Requests): no request until 2026-05-01T12:00:45Z", blocked.Failure);
        Assert.Single(Requests(StatisticsPath));

        _root.Server.ResetMappings();
        Answer(StatisticsPath, Json(Statistics));
        time.Advance(TimeSpan.FromSeconds(15));
        var after = await source.PollAsync(CancellationToken.None);

        Assert.True(after.Success, after.Failure);
        Assert.Equal(13, after.Value(GitLabSourceKind.Count));
        Assert.Equal(2, Requests(StatisticsPath).Count);
    }

    public static TheoryData<string, string> CanaryFaults => new()
    {
        { "401", "HTTP 401 Unauthorized: authentication failed" },
        { "403", "HTTP 403 Forbidden: permission denied" },
        { "500", "HTTP 500 Internal Server Error" },
        { "echo", "HTTP 404 Not Found: token *** not found" },
        { "garbage body", "malformed JSON: " },
        { "malformed JSON", "malformed JSON: " },
        { "wrong content type", "expected a JSON response, got content type text/html" },
        { "connection reset", "connection reset by peer" },
        { "timeout", "timeout after 1s" },
    };

    [Theory]
    [MemberData(nameof(CanaryFaults))]
    public async Task PollAsync_FailureWithToken_NeverShowsTheToken(string fault, string reason)
    {
        await using var raw = ApiKindFaults.RawServer(fault);
        if (raw is null)
        {
            Answer(StatisticsPath, fault switch
            {
                "401" => Json("""{"message": "401 Unauthorized"}""", 401),
                "403" => Json("""{"message": "403 Forbidden"}""", 403).WithHeader("RateLimit-Remaining", "10"),
                // A server (or proxy) that echoes the request back must not get the token into a reason either.
                "echo" => Json($$"""{"message": "token {{Canary}} not found"}""", 404),
                _ => ApiKindFaults.Answer(ApiKindFaults.GitLab, fault),
            });
            Answer(IssuesPath, Json($$"""{"message": "token {{Canary}} not found"}""", 404));
        }

        var result = await PollOnceAsync(
            GitLabConfigs.Yaml(raw is null ? Url : raw.Url.ToString(), "token: ${GITLAB_TOKEN}", timeout: ApiKindFaults.TimeoutFor(fault)),
            name => name == "GITLAB_TOKEN" ? Canary : null);

        Assert.StartsWith(reason, result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary, result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary[6..], result.Failure, StringComparison.Ordinal);
    }

    /// <summary>
    /// A redirect to another origin (a moved instance, a hijacked DNS name, an open redirect) must not carry the
    /// token there. HttpClient's automatic redirects drop only the Authorization header, and GitLab's token travels in
    /// PRIVATE-TOKEN: this fails while ApiClient follows redirects itself without dropping the source's own headers.
    /// </summary>
    [Fact]
    public async Task PollAsync_RedirectToAnotherOrigin_DoesNotSendTheToken()
    {
        using var elsewhere = WireMockServer.Start();
        elsewhere.Given(Request.Create().UsingAnyMethod()).RespondWith(Json(Statistics));
        Answer(StatisticsPath, Response.Create().WithStatusCode(302).WithHeader("Location", elsewhere.Url + StatisticsPath));

        await PollOnceAsync(GitLabConfigs.Yaml(Url, "token: ${GITLAB_TOKEN}"), name => name == "GITLAB_TOKEN" ? Canary : null);

        var followed = Assert.Single(elsewhere.LogEntries).RequestMessage;
        Assert.Null(Header(followed, "PRIVATE-TOKEN"));
    }

    [Fact]
    public async Task PollAsync_CallerTokenCancelled_Throws()
    {
        Answer(StatisticsPath, Json(Statistics).WithDelay(TimeSpan.FromSeconds(2)));
        await using var source = GitLabConfigs.Create(GitLabConfigs.Yaml(Url, timeout: "5s"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }
}
