using Roadmap.Sources.GitHub;

namespace Roadmap.Sources.Tests.GitHub;

public sealed class GitHubSourceTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private const string Canary = "ghp_CANARY7f3a9c1e5b";

    private readonly WireMockRoot _root = new(wiremock.Server);

    private string ApiUrl => _root.Url;

    private string SearchPath => _root.Prefix + "/search/issues";

    private static IResponseBuilder Json(string body, int status = 200) => WireMockRoot.Json(body, status, "application/json; charset=utf-8");

    private void Answer(IResponseBuilder response) => _root.Answer(SearchPath, response);

    private List<IRequestMessage> Requests() => _root.Requests(SearchPath);

    private static async Task<PollResult> PollOnceAsync(string yaml, Func<string, string?>? environment = null)
    {
        await using var source = GitHubConfigs.Create(yaml, api: GitHubConfigs.QuickRetries, environment: environment);
        return await source.PollAsync(CancellationToken.None);
    }

    [Fact]
    public async Task PollAsync_SearchAnswers_CountsTotalCountWithTheDocumentedRequest()
    {
        Answer(Json("""{"total_count": 42, "incomplete_results": false, "items": [{"number": 7}]}"""));

        var result = await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl, "token: ${GITHUB_TOKEN}"), name => name == "GITHUB_TOKEN" ? "ghp_abc" : null);

        Assert.True(result.Success, result.Failure);
        Assert.Equal(42, result.Value(GitHubSourceKind.Count));
        Assert.Equal(0, result.Value(GitHubSourceKind.Incomplete));
        Assert.Equal(2, result.Samples.Count);
        var request = Assert.Single(Requests());
        Assert.Equal("GET", request.Method);
        Assert.Equal("repo:acme/shop is:issue is:open label:bug", request.Query!["q"].Single());
        Assert.Equal("1", request.Query["per_page"].Single());
        Assert.Equal("application/vnd.github+json", Header(request, "Accept"));
        Assert.Equal("2022-11-28", Header(request, "X-GitHub-Api-Version"));
        Assert.Equal("Bearer ghp_abc", Header(request, "Authorization"));
        Assert.Equal("Roadmap/1.0", Header(request, "User-Agent"));
    }

    [Fact]
    public async Task PollAsync_NoToken_SendsNoAuthorization()
    {
        Answer(Json("""{"total_count": 0, "incomplete_results": false, "items": []}"""));

        var result = await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(0, result.Value(GitHubSourceKind.Count));
        Assert.Null(Header(Assert.Single(Requests()), "Authorization"));
    }

    [Fact]
    public async Task PollAsync_IncompleteResults_SucceedsAndFlagsIncomplete()
    {
        Answer(Json("""{"total_count": 1000, "incomplete_results": true, "items": []}"""));

        var result = await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1000, result.Value(GitHubSourceKind.Count));
        Assert.Equal(1, result.Value(GitHubSourceKind.Incomplete));
    }

    [Theory]
    [InlineData("""{"incomplete_results": false, "items": []}""", "response has no total_count")]
    [InlineData("""{"total_count": null}""", "response has no total_count")]
    [InlineData("""[{"total_count": 3}]""", "response has no total_count")]
    [InlineData("""{"total_count": "12"}""", "total_count is not a count: \"12\"")]
    [InlineData("""{"total_count": -1}""", "total_count is not a count: -1")]
    [InlineData("""{"total_count": 2.5}""", "total_count is not a count: 2.5")]
    public async Task PollAsync_BodyWithoutACount_FailsSayingWhy(string body, string reason)
    {
        Answer(Json(body));

        var result = await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl));

        Assert.False(result.Success);
        Assert.Equal(reason, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_403WithSpentRateLimit_FailsRateLimitedAndSendsNothingUntilTheReset()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        var reset = time.GetUtcNow().AddSeconds(90).ToUnixTimeSeconds();
        Answer(Json("""{"message": "API rate limit exceeded for 203.0.113.7."}""", 403)
            .WithHeader("x-ratelimit-limit", "60")
            .WithHeader("x-ratelimit-remaining", "0")
            .WithHeader("x-ratelimit-reset", reset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var source = GitHubConfigs.Create(GitHubConfigs.Yaml(ApiUrl), time);

        var first = await source.PollAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(60));
        var blocked = await source.PollAsync(CancellationToken.None);

        Assert.Equal("rate-limited: HTTP 403 Forbidden, waiting 1m30s before the next request", first.Failure);
        Assert.Equal("rate-limited (HTTP 403 Forbidden): no request until 2026-05-01T12:01:30Z", blocked.Failure);
        Assert.Single(Requests());

        _root.Server.ResetMappings();
        Answer(Json("""{"total_count": 5, "incomplete_results": false}"""));
        time.Advance(TimeSpan.FromSeconds(31));
        var after = await source.PollAsync(CancellationToken.None);

        Assert.True(after.Success, after.Failure);
        Assert.Equal(5, after.Value(GitHubSourceKind.Count));
        Assert.Equal(2, Requests().Count);
    }

    [Fact]
    public async Task PollAsync_429WithLongRetryAfter_FailsRateLimitedAndWaitsThatLong()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        Answer(Json("""{"message": "You have exceeded a secondary rate limit."}""", 429).WithHeader("Retry-After", "120"));
        await using var source = GitHubConfigs.Create(GitHubConfigs.Yaml(ApiUrl), time);

        var first = await source.PollAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(119));
        var blocked = await source.PollAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));
        var retried = await source.PollAsync(CancellationToken.None);

        Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 2m before the next request", first.Failure);
        Assert.Equal("rate-limited (HTTP 429 Too Many Requests): no request until 2026-05-01T12:02:00Z", blocked.Failure);
        Assert.StartsWith("rate-limited: HTTP 429 Too Many Requests", retried.Failure, StringComparison.Ordinal);
        Assert.Equal(2, Requests().Count);
    }

    [Fact]
    public async Task PollAsync_429WithShortRetryAfter_RetriesAfterTheWaitWithinThePoll()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        var scenario = _root.Prefix;
        _root.Server.Given(Request.Create().WithPath(SearchPath).UsingGet()).InScenario(scenario).WillSetStateTo("limited")
            .RespondWith(Json("""{"message": "slow down"}""", 429).WithHeader("Retry-After", "1"));
        _root.Server.Given(Request.Create().WithPath(SearchPath).UsingGet()).InScenario(scenario).WhenStateIs("limited")
            .RespondWith(Json("""{"total_count": 9, "incomplete_results": false}"""));
        await using var source = GitHubConfigs.Create(GitHubConfigs.Yaml(ApiUrl, timeout: "5s"), time);

        var poll = source.PollAsync(CancellationToken.None).AsTask();
        // The retry waits the server's second on the fake clock: nothing is sent again until it has passed.
        await WaitUntilAsync(() => Requests().Count == 1);
        await Task.Delay(50);
        Assert.False(poll.IsCompleted);
        Assert.Single(Requests());
        // Advance in steps until the retry goes out (the delay's timer may be set a moment after the first answer), then
        // no further: the retry's own attempt timeout runs on the same clock.
        while (Requests().Count < 2 && time.GetUtcNow() < new DateTimeOffset(2026, 5, 1, 12, 0, 2, TimeSpan.Zero))
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20);
        }

        var result = await poll;
        Assert.True(result.Success, result.Failure);
        Assert.Equal(9, result.Value(GitHubSourceKind.Count));
        Assert.Equal(2, Requests().Count);
        Assert.True(time.GetUtcNow() >= new DateTimeOffset(2026, 5, 1, 12, 0, 1, TimeSpan.Zero));
    }

    [Fact]
    public async Task PollAsync_403WithQuotaLeft_FailsPermissionDeniedAndKeepsPolling()
    {
        Answer(Json("""{"message": "Resource not accessible by personal access token"}""", 403).WithHeader("x-ratelimit-remaining", "4999"));
        await using var source = GitHubConfigs.Create(GitHubConfigs.Yaml(ApiUrl), api: GitHubConfigs.QuickRetries);

        var first = await source.PollAsync(CancellationToken.None);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.StartsWith("HTTP 403 Forbidden: permission denied", first.Failure, StringComparison.Ordinal);
        Assert.StartsWith("HTTP 403 Forbidden: permission denied", second.Failure, StringComparison.Ordinal);
        Assert.Equal(2, Requests().Count);
    }

    [Fact]
    public async Task PollAsync_401_FailsAuthenticationFailedWithoutRetrying()
    {
        Answer(Json("""{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}""", 401));

        var result = await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl, "token: ghp_wrong"));

        Assert.StartsWith("HTTP 401 Unauthorized: authentication failed", result.Failure, StringComparison.Ordinal);
        Assert.Single(Requests());
    }

    /// <summary>
    /// GitHub answers a search it refuses (a repository the token cannot see, a bad qualifier) with 422 and says why
    /// in errors[].message: the operator needs those words. Fails while ApiClient drops the body of a non-2xx
    /// response (ApiResult carries no Response with a Failure).
    /// </summary>
    [Fact]
    public async Task PollAsync_422_FailsWithGitHubsErrorMessage()
    {
        Answer(Json(
            """
            {"message": "Validation Failed", "errors": [{"message": "The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.", "resource": "Search", "field": "q", "code": "invalid"}], "status": "422"}
            """,
            422));

        var result = await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl));

        Assert.Equal(
            "HTTP 422 Unprocessable Entity: The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.",
            result.Failure);
    }

    public static TheoryData<string, string> CanaryFaults => new()
    {
        { "401", "HTTP 401 Unauthorized: authentication failed" },
        { "403", "HTTP 403 Forbidden: permission denied" },
        { "500", "HTTP 500 Internal Server Error" },
        { "echo", "HTTP 422 Unprocessable Entity: token *** is revoked" },
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
            Answer(fault switch
            {
                "401" => Json("""{"message": "Bad credentials"}""", 401),
                "403" => Json("""{"message": "Must have admin rights to Repository."}""", 403).WithHeader("x-ratelimit-remaining", "10"),
                // A server (or proxy) that echoes the request back must not get the token into a reason either.
                "echo" => Json($$"""{"message": "bad token {{Canary}}", "errors": [{"message": "token {{Canary}} is revoked"}]}""", 422),
                _ => ApiKindFaults.Answer(ApiKindFaults.GitHub, fault),
            });
        }

        var result = await PollOnceAsync(
            GitHubConfigs.Yaml(raw is null ? ApiUrl : raw.Url.ToString().TrimEnd('/'), "token: ${GITHUB_TOKEN}", timeout: ApiKindFaults.TimeoutFor(fault)),
            name => name == "GITHUB_TOKEN" ? Canary : null);

        Assert.StartsWith(reason, result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary, result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Canary[4..], result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PollAsync_RedirectToAnotherOrigin_DoesNotSendTheToken()
    {
        using var elsewhere = WireMockServer.Start();
        elsewhere.Given(Request.Create().UsingAnyMethod()).RespondWith(Json("""{"total_count": 1}"""));
        Answer(Response.Create().WithStatusCode(301).WithHeader("Location", elsewhere.Url + SearchPath + "?q=repo%3Aacme%2Fshop"));

        await PollOnceAsync(GitHubConfigs.Yaml(ApiUrl, "token: ${GITHUB_TOKEN}"), name => name == "GITHUB_TOKEN" ? Canary : null);

        var followed = Assert.Single(elsewhere.LogEntries).RequestMessage;
        Assert.Null(Header(followed, "Authorization"));
    }

    [Fact]
    public async Task PollAsync_CallerTokenCancelled_Throws()
    {
        Answer(Json("""{"total_count": 1}""").WithDelay(TimeSpan.FromSeconds(2)));
        await using var source = GitHubConfigs.Create(GitHubConfigs.Yaml(ApiUrl, timeout: "5s"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "condition not met within 2s");
    }
}
