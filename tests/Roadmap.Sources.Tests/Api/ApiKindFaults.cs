using Roadmap.Sources.Tests.GitHub;
using Roadmap.Sources.Tests.GitLab;
using Roadmap.Sources.Tests.Jira;

namespace Roadmap.Sources.Tests.Api;

/// <summary>
/// What the fault matrix needs to know about one issue-tracker kind (github, gitlab, jira): how to make a source of
/// it on a server, the one request its poll starts with, and bodies in its own dialect. A kind's own tests (rate-limit
/// headers, fallbacks, token echoes) stay in its file and borrow <see cref="ApiKindFaults.Answer"/> from here.
/// </summary>
/// <param name="Yaml">A source of the kind at a base URL (no trailing '/') with a timeout.</param>
/// <param name="Create">The source, with retries that do not wait: the tests are about what a fault becomes.</param>
/// <param name="Path">The first request's path below the base URL.</param>
/// <param name="Method">The first request's method.</param>
/// <param name="ContentType">The content type the real service answers JSON with.</param>
/// <param name="Valid">A body the kind counts: served late for the timeout, and cut short for the garbage body.</param>
/// <param name="Malformed">A body in the kind's shape that stops mid-token.</param>
/// <param name="ServerError">The body of the kind's 500.</param>
/// <param name="RateLimited">The kind's 429; it must carry Retry-After: 30.</param>
/// <param name="OverCap">A valid body padded over the 1 MiB cap with the pad at <c>{0}</c>.</param>
/// <param name="SignInPage">The HTML a sign-in proxy answers with.</param>
internal sealed record ApiKind(
    Func<string, string, string> Yaml,
    Func<string, ISource> Create,
    string Path,
    string Method,
    string ContentType,
    string Valid,
    string Malformed,
    string ServerError,
    Func<IResponseBuilder> RateLimited,
    string OverCap,
    string SignInPage);

/// <summary>The fault matrix of the issue-tracker kinds, and what a poll under each fault must fail with.</summary>
internal static class ApiKindFaults
{
    private static readonly string Pad = new('x', 1 << 20);

    public static readonly ApiKind GitHub = new(
        (url, timeout) => GitHubConfigs.Yaml(url, timeout: timeout),
        yaml => GitHubConfigs.Create(yaml, api: GitHubConfigs.QuickRetries),
        "/search/issues",
        "GET",
        "application/json; charset=utf-8",
        """{"total_count": 3, "incomplete_results": false}""",
        """{"total_count": 3, "incomplete_results": fal""",
        """{"message": "Server Error"}""",
        () => Response.Create().WithStatusCode(429).WithHeader("Content-Type", "application/json; charset=utf-8").WithHeader("Retry-After", "30")
            .WithBody("""{"message": "secondary rate limit"}"""),
        """{"total_count": 3, "items": ["{0}"]}""",
        "<html>Sign in</html>");

    public static readonly ApiKind GitLab = new(
        (url, timeout) => GitLabConfigs.Yaml(url, timeout: timeout),
        yaml => GitLabConfigs.Create(yaml, api: GitLabConfigs.QuickRetries),
        // WireMock matches the decoded path: the source sends acme%2Fshop.
        "/api/v4/projects/acme/shop/issues_statistics",
        "GET",
        "application/json",
        """{"statistics": {"counts": {"all": 20, "closed": 7, "opened": 13}}}""",
        """{"statistics": {"counts": {"opened": 1""",
        """{"message": "500 Internal Server Error"}""",
        () => Response.Create().WithStatusCode(429).WithHeader("Retry-After", "30").WithBody("Retry later"),
        """{"statistics": {"counts": {"opened": 1}}, "pad": "{0}"}""",
        "<html>GitLab sign in</html>");

    public static readonly ApiKind Jira = new(
        (url, timeout) => JiraConfigs.Yaml(url, "email: ops@acme.example\ntoken: ATATT3xabc", timeout),
        yaml => JiraConfigs.Create(yaml, api: JiraConfigs.QuickRetries),
        "/rest/api/3/search/approximate-count",
        "POST",
        "application/json;charset=UTF-8",
        """{"count": 1, "total": 1}""",
        """{"count": 1, "total": """,
        """{"errorMessages": ["Internal server error"]}""",
        () => Response.Create().WithStatusCode(429).WithHeader("Retry-After", "30"),
        """{"count": 1, "pad": "{0}"}""",
        "<html>Log in to Jira</html>");

    public static IReadOnlyDictionary<string, ApiKind> ByName { get; } = new Dictionary<string, ApiKind>
    {
        ["github"] = GitHub,
        ["gitlab"] = GitLab,
        ["jira"] = Jira,
    };

    /// <summary>Each fault, the reason it must become, and whether the reason is exact or only its start (a parser's words follow).</summary>
    public static TheoryData<string, string, bool> Faults => new()
    {
        { "timeout", "timeout after 1s", true },
        { "500", "HTTP 500 Internal Server Error", true },
        { "429 with Retry-After", "rate-limited: HTTP 429 Too Many Requests, waiting 30s before the next request", true },
        { "malformed JSON", "malformed JSON: ", false },
        { "empty body", "empty response body, expected JSON", true },
        { "garbage body", "malformed JSON: ", false },
        { "connection reset", "connection reset by peer", true },
        { "body over the cap", "response body over the 1024 KiB cap", true },
        { "chunked body over the cap", "response body over the 1024 KiB cap", true },
        { "wrong content type", "expected a JSON response, got content type text/html", true },
    };

    /// <summary>1 s where the test is about the timeout; otherwise room enough that a busy machine cannot turn the fault into a timeout.</summary>
    public static string TimeoutFor(string fault) => fault == "timeout" ? "1s" : "3s";

    /// <summary>A JSON answer with the kind's content type.</summary>
    public static IResponseBuilder Json(ApiKind kind, string body, int status = 200) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", kind.ContentType).WithBody(body);

    /// <summary>The kind's answer for a fault WireMock can serve (all but those <see cref="RawServer"/> serves).</summary>
    public static IResponseBuilder Answer(ApiKind kind, string fault) => fault switch
    {
        "timeout" => Json(kind, kind.Valid).WithDelay(TimeSpan.FromSeconds(3)),
        "500" => Json(kind, kind.ServerError, 500),
        "429 with Retry-After" => kind.RateLimited(),
        "malformed JSON" => Json(kind, kind.Malformed),
        "empty body" => Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json"),
        // Half the body, then random bytes.
        "garbage body" => Json(kind, kind.Valid).WithFault(FaultType.MALFORMED_RESPONSE_CHUNK),
        "body over the cap" => Json(kind, kind.OverCap.Replace("{0}", Pad, StringComparison.Ordinal)),
        "wrong content type" => Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/html").WithBody(kind.SignInPage),
        _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
    };

    /// <summary>What WireMock cannot do: reset the connection, or stream a body with no Content-Length. Null for the other faults.</summary>
    public static RawTcpServer? RawServer(string fault) => fault switch
    {
        "connection reset" => new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            stream.Socket.LingerState = new LingerOption(true, 0);
            stream.Socket.Close();
        }),
        "chunked body over the cap" => new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), ct);
            var chunk = System.Text.Encoding.ASCII.GetBytes($"10000\r\n{new string(' ', 0x10000)}\r\n");
            for (var i = 0; i < 17; i++)
            {
                await stream.WriteAsync(chunk, ct);
            }

            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
            // Read (any request body, then the close) until the client hangs up: closing with unread data would reset the connection.
            var rest = new byte[4096];
            while (await stream.ReadAsync(rest, ct) > 0)
            {
            }
        }),
        _ => null,
    };
}
