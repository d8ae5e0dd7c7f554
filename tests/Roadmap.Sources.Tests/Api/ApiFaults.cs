namespace Roadmap.Sources.Tests.Api;

/// <summary>
/// The fault matrix every API kind is tested against (issue 3, item 11): what a broken or hostile server does, and
/// the reason the poll must fail with. Each kind runs it as a [Theory] over <see cref="Names"/>.
/// </summary>
internal static class ApiFaults
{
    /// <summary>The poll timeout of the "timeout" fault; the server delays longer.</summary>
    public const string Timeout = "600ms";

    public static TheoryData<string> Names => new()
    {
        "timeout", "500", "429 with Retry-After", "malformed JSON", "empty body", "WireMock EMPTY_RESPONSE",
        "WireMock MALFORMED_RESPONSE_CHUNK", "connection reset", "connection closed", "body over the cap", "HTML",
    };

    /// <summary>The timeout a source under <paramref name="fault"/> polls with: room for the retries, except where the timeout is the fault.</summary>
    public static string TimeoutFor(string fault) => fault == "timeout" ? Timeout : "5s";

    /// <summary>
    /// Makes requests to <paramref name="path"/> meet the fault. Returns the server's base URL (no trailing '/') to
    /// which the source's path is appended: <paramref name="server"/>'s, or, for faults WireMock cannot make on the
    /// wire, a raw server's that does the same to every request whatever its path.
    /// </summary>
    public static FaultServer Arrange(WireMockServer server, string path, string fault)
    {
        if (fault is "connection reset" or "connection closed")
        {
            var raw = new RawTcpServer(async (stream, ct) =>
            {
                await RawTcpServer.ReadRequestHeadAsync(stream, ct);
                if (fault == "connection reset")
                {
                    // Linger 0: the close sends RST, not FIN.
                    stream.Socket.LingerState = new LingerOption(true, 0);
                }

                stream.Socket.Close();
            });
            return new FaultServer(raw.Url.ToString().TrimEnd('/'), raw);
        }

        var json = Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json");
        var response = fault switch
        {
            "timeout" => json.WithBody("{}").WithDelay(TimeSpan.FromSeconds(3)),
            "500" => Response.Create().WithStatusCode(500).WithHeader("Content-Type", "text/plain").WithBody("boom"),
            "429 with Retry-After" => Response.Create().WithStatusCode(429).WithHeader("Retry-After", "30"),
            "malformed JSON" => json.WithBody("""{"status": "success", "data": {"""),
            "empty body" => json.WithBody(""),
            // WireMock.Net's faults are not connection faults: EMPTY_RESPONSE answers 200 with no body, and
            // MALFORMED_RESPONSE_CHUNK half the body followed by random bytes.
            "WireMock EMPTY_RESPONSE" => Response.Create().WithStatusCode(200).WithBody("{}").WithFault(FaultType.EMPTY_RESPONSE),
            "WireMock MALFORMED_RESPONSE_CHUNK" => Response.Create().WithStatusCode(200).WithBody("""{"status": "success"}""").WithFault(FaultType.MALFORMED_RESPONSE_CHUNK),
            "body over the cap" => json.WithBody("[" + string.Join(",", Enumerable.Repeat("1234567", 150_000)) + "]"),
            "HTML" => Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/html; charset=utf-8").WithBody("<html><body>Sign in</body></html>"),
            _ => throw new ArgumentException($"no fault \"{fault}\"", nameof(fault)),
        };
        server.Given(Request.Create().WithPath(path).UsingAnyMethod()).RespondWith(response);
        return new FaultServer(server.Url!, null);
    }

    /// <summary>Checks the reason a poll against the fault failed with.</summary>
    public static void AssertReason(string fault, string? failure)
    {
        Assert.NotNull(failure);
        switch (fault)
        {
            case "timeout":
                Assert.Equal($"timeout after {Timeout}", failure);
                break;
            case "500":
                Assert.Equal("HTTP 500 Internal Server Error", failure);
                break;
            case "429 with Retry-After":
                Assert.Equal("rate-limited: HTTP 429 Too Many Requests, waiting 30s before the next request", failure);
                break;
            case "malformed JSON" or "WireMock MALFORMED_RESPONSE_CHUNK":
                Assert.StartsWith("malformed JSON: ", failure, StringComparison.Ordinal);
                break;
            case "empty body" or "WireMock EMPTY_RESPONSE":
                Assert.Equal("empty response body, expected JSON", failure);
                break;
            case "connection reset":
                Assert.Equal("connection reset by peer", failure);
                break;
            case "connection closed":
                Assert.Equal("the server closed the connection without a response", failure);
                break;
            case "body over the cap":
                Assert.Equal("response body over the 1024 KiB cap", failure);
                break;
            case "HTML":
                Assert.Equal("expected a JSON response, got content type text/html", failure);
                break;
            default:
                Assert.Fail($"no fault \"{fault}\"");
                break;
        }
    }
}

/// <summary>Where a fault is served: a base URL, and the raw server behind it when it is not WireMock.</summary>
internal sealed class FaultServer(string baseUrl, RawTcpServer? raw) : IAsyncDisposable
{
    public string BaseUrl { get; } = baseUrl;

    public ValueTask DisposeAsync() => raw?.DisposeAsync() ?? ValueTask.CompletedTask;
}
