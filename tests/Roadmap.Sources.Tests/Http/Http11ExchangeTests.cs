using System.Diagnostics;
using Roadmap.Sources.Http;

namespace Roadmap.Sources.Tests.Http;

/// <summary>
/// The http kind's own HTTP/1.1 exchange (a probe without keepAlive), driven through the source against a raw server
/// that answers byte for byte: every body framing, interim answers, and what a broken or hostile server sends — each
/// bounded and ending in a reason, never in a hang or a crash.
/// </summary>
public sealed class Http11ExchangeTests
{
    /// <summary>A server that reads each request head and then writes <paramref name="answer"/>'s pieces, flushed one by one.</summary>
    private static RawTcpServer Answering(params string[] answer) => new(async (stream, ct) =>
    {
        await RawTcpServer.ReadRequestHeadAsync(stream, ct);
        foreach (var piece in answer)
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(piece), ct);
            await stream.FlushAsync(ct);
        }
    });

    private static async Task<PollResult> PollAsync(RawTcpServer server, string extra = "", string timeout = "5s")
    {
        await using var probe = TestConfigs.Create(HttpSourceTests.Probe(server.Url.ToString(), extra, timeout));
        return await probe.PollAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Chunked_BodyInPiecesWithExtensionsAndTrailers_IsDecoded()
    {
        // The needle spans two chunks, and the chunks come in pieces that split a size line and a chunk's end.
        await using var server = Answering(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6;name=value\r\nstatu",
            "s\r\n",
            "9\r\n: healthy\r\n0",
            "\r\nX-Trailer: yes\r\n\r\n");

        var result = await PollAsync(server, "expect: {bodyContains: \"status: healthy\"}");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(15, result.Value(HttpSourceKind.ContentLengthBytes));
    }

    [Fact]
    public async Task ContentLength_BodyInManyWrites_IsReadWhole()
    {
        var body = new string('a', 3000) + "needle";
        await using var server = Answering([$"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n", .. body.Chunk(700).Select(c => new string(c))]);

        var result = await PollAsync(server, "expect: {bodyContains: needle}");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(body.Length, result.Value(HttpSourceKind.ContentLengthBytes));
    }

    [Fact]
    public async Task Http10WithoutLength_BodyRunsToTheClose()
    {
        await using var server = Answering("HTTP/1.0 200 OK\r\n\r\nall of it");

        var result = await PollAsync(server, "expect: {bodyContains: \"all of it\"}");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(9, result.Value(HttpSourceKind.ContentLengthBytes));
    }

    [Fact]
    public async Task ContentLongerThanSent_FailsNamingTheMissingBytes()
    {
        await using var server = Answering("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");

        var result = await PollAsync(server);

        Assert.Equal("connection error: the server closed the connection 5 bytes before the end of the Content-Length body", result.Failure);
        Assert.Equal(200, result.Value(HttpSourceKind.StatusCode));
    }

    [Fact]
    public async Task InterimAnswers_AreSkippedForTheFinalOne()
    {
        await using var server = Answering("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n");

        var result = await PollAsync(server);

        Assert.True(result.Success, result.Failure);
        Assert.Equal(204, result.Value(HttpSourceKind.StatusCode));
    }

    [Theory]
    [InlineData("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 1000\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 304 Not Modified\r\n\r\n")]
    [InlineData("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]
    public async Task AnswerWithoutABody_EndsAtItsHeadThoughTheServerKeepsTheConnection(string method, string head)
    {
        // The server then holds the connection open: a probe that waited for a body or the close would time out.
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync(Encoding.Latin1.GetBytes(head), ct);
            await Task.Delay(Timeout.Infinite, ct);
        });

        var result = await PollAsync(server, $"method: {method}\nexpect: {{status: [200, 204, 304]}}", timeout: "3s");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(0, result.Value(HttpSourceKind.ContentLengthBytes));
    }

    [Fact]
    public async Task EndlessBody_IsReadToTheCapAndTheProbeEnds()
    {
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray(), ct);
            var block = new byte[64 * 1024];
            while (true)
            {
                await stream.WriteAsync(block, ct);
            }
        });
        var clock = Stopwatch.StartNew();

        var result = await PollAsync(server, timeout: "10s");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(HttpProbeOptions.MaxBodyBytes, result.Value(HttpSourceKind.ContentLengthBytes));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task EndlessHead_FailsAtTheHeadCapNotAtTheTimeout()
    {
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\n"u8.ToArray(), ct);
            var header = "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"u8.ToArray();
            while (true)
            {
                await stream.WriteAsync(header, ct);
            }
        });
        var clock = Stopwatch.StartNew();

        var result = await PollAsync(server, timeout: "10s");

        Assert.Equal($"request failed: the response head is over {Http11Exchange.MaxHeadBytes / 1024} KiB", result.Failure);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task HeadDrippingForever_EndsAtTheProbeTimeout()
    {
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\n"u8.ToArray(), ct);
            while (true)
            {
                await stream.WriteAsync("X"u8.ToArray(), ct);
                await Task.Delay(50, ct);
            }
        });

        var result = await PollAsync(server, timeout: "500ms");

        Assert.Equal("timeout after 500ms", result.Failure);
    }

    [Theory]
    [InlineData("zz\r\n")]
    [InlineData("-1\r\n")]
    [InlineData("\r\n")]
    [InlineData("10000000000000000\r\n")]
    public async Task BadChunkSize_FailsAsInvalid(string size)
    {
        await using var server = Answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", size, "data\r\n0\r\n\r\n");

        var result = await PollAsync(server);

        Assert.Equal("connection error: invalid HTTP response: a chunk size is not a hexadecimal number", result.Failure);
    }

    [Fact]
    public async Task EndlessChunkSizeLine_FailsAtTheLineCap()
    {
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), ct);
            var block = new byte[1024];
            Array.Fill(block, (byte)'f');
            while (true)
            {
                await stream.WriteAsync(block, ct);
            }
        });

        var result = await PollAsync(server, timeout: "10s");

        Assert.Equal($"connection error: invalid HTTP response: a line of the chunked body is over {Http11Exchange.MaxLineBytes / 1024} KiB", result.Failure);
    }

    [Fact]
    public async Task ChunkLongerThanItsSize_FailsAsInvalid()
    {
        await using var server = Answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n");

        var result = await PollAsync(server);

        Assert.Equal("connection error: invalid HTTP response: a chunk is longer than its size says", result.Failure);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n")]
    [InlineData("HTTP/2 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 099 Low\r\n\r\n")]
    [InlineData("HTTP/1.1 200OK\r\n\r\n")]
    public async Task MalformedHead_FailsAsInvalid(string head)
    {
        await using var server = Answering(head);

        var result = await PollAsync(server);

        Assert.Equal("invalid HTTP response", result.Failure);
    }

    [Fact]
    public async Task GarbageStatusLine_FailsAtOnceWithoutWaitingForABlankLine()
    {
        // One line of garbage, then the server holds the connection: the status line alone condemns it.
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync("SSH-2.0-OpenSSH_9.2\r\n"u8.ToArray(), ct);
            await Task.Delay(Timeout.Infinite, ct);
        });

        var result = await PollAsync(server, timeout: "3s");

        Assert.Equal("invalid HTTP response", result.Failure);
    }

    [Fact]
    public async Task ServerClosesMidHead_FailsAsEnded()
    {
        await using var server = Answering("HTTP/1.1 200 OK\r\nContent-");

        var result = await PollAsync(server);

        Assert.Equal("the server closed the connection without a response", result.Failure);
    }

    [Fact]
    public async Task ReasonPhrase_IsTheServersAndAMissingOneIsTheStandardOne()
    {
        await using var custom = Answering("HTTP/1.1 503 Down For Maintenance\r\nContent-Length: 0\r\n\r\n");
        await using var bare = Answering("HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal("HTTP 503 Down For Maintenance, expected 2xx", (await PollAsync(custom)).Failure);
        Assert.Equal("HTTP 503 Service Unavailable, expected 2xx", (await PollAsync(bare)).Failure);
    }

    [Fact]
    public async Task BareLineFeeds_AreAccepted()
    {
        await using var server = Answering("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");

        var result = await PollAsync(server, "expect: {bodyContains: ok}");

        Assert.True(result.Success, result.Failure);
    }

    [Fact]
    public async Task RequestHead_IsTheConfiguredRequestWithHostAndConnectionClose()
    {
        var heads = new List<string>();
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            heads.Add(await ReadHeadAsync(stream, ct));
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), ct);
        });
        var url = new Uri(server.Url, "/health?deep=1");

        await using var probe = TestConfigs.Create(HttpSourceTests.Probe(url.ToString(), "method: POST\nheaders: {X-Team: shop, Content-Type: application/json}"));
        var first = await probe.PollAsync(CancellationToken.None);
        var second = await probe.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(2, heads.Count);
        var lines = heads[0].Split("\r\n");
        Assert.Equal("POST /health?deep=1 HTTP/1.1", lines[0]);
        Assert.Contains($"Host: 127.0.0.1:{url.Port}", lines);
        Assert.Contains("Connection: close", lines);
        Assert.Contains("User-Agent: Roadmap-probe/1.0", lines);
        Assert.Contains("X-Team: shop", lines);
        Assert.Contains("Content-Type: application/json", lines);
        Assert.Contains("Content-Length: 0", lines);
        // The second probe sends the same head (it is made once and kept).
        Assert.Equal(heads[0], heads[1]);
    }

    [Theory]
    [InlineData("a\r\nX-Injected: 1", "a line break or NUL")]
    [InlineData("a\0b", "a line break or NUL")]
    [InlineData("café", "a character that is not ASCII")]
    public async Task Serialize_HeaderThatWouldBreakTheHead_IsRefused(string value, string why)
    {
        // The config refuses such values already; the wire is the last line of defence, for the names too.
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://example.test/");
        Assert.True(request.Headers.TryAddWithoutValidation("X-Token", value));

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => Http11Exchange.SerializeAsync(request, CancellationToken.None));

        Assert.Equal($"the request header X-Token has {why} in it: not sent", e.Message);
    }

    [Theory]
    [InlineData("http://example.test/a%20b?q=1", "GET /a%20b?q=1 HTTP/1.1", "Host: example.test")]
    [InlineData("http://[::1]:8080/", "GET / HTTP/1.1", "Host: [::1]:8080")]
    [InlineData("http://[fe80::1%25eth0]:8080/", "GET / HTTP/1.1", "Host: [fe80::1]:8080")]
    [InlineData("http://bücher.test/", "GET / HTTP/1.1", "Host: xn--bcher-kva.test")]
    [InlineData("https://example.test:443/x", "GET /x HTTP/1.1", "Host: example.test")]
    public async Task Serialize_RequestLineAndHost(string url, string requestLine, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);

        var lines = Encoding.ASCII.GetString(await Http11Exchange.SerializeAsync(request, CancellationToken.None)).Split("\r\n");

        Assert.Equal(requestLine, lines[0]);
        Assert.Equal(host, lines[1]);
        Assert.Equal(["", ""], lines[^2..]);
    }

    [Theory]
    [InlineData(Http11Exchange.MaxInterimAnswers, null)]
    [InlineData(Http11Exchange.MaxInterimAnswers + 1, "invalid HTTP response")]
    public async Task InterimAnswers_AtMostTheCapBeforeTheFinalOne(int interim, string? failure)
    {
        // Past the cap the probe fails at once instead of copying interim answers until its timeout.
        await using var server = Answering(string.Concat(Enumerable.Repeat("HTTP/1.1 100 Continue\r\n\r\n", interim)) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        var result = await PollAsync(server);

        Assert.Equal(failure, result.Failure);
    }

    [Theory]
    [InlineData("Transfer-Encoding: gzip,\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Content-Length:\r\n\t5\r\n\r\nhello")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n0000000000000005\r\nhello\r\n0\r\n\r\n")]
    public async Task FoldedHeadersEmptyListItemsAndPaddedSizes_FrameTheBodyAsTheyMean(string rest)
    {
        // Folded lines join their field's value with a space; empty list items are no coding; leading zeros of a chunk
        // size are no digits. Each answer's body is "hello", and the server then holds the connection open: a body
        // read to the close instead would time out.
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            await RawTcpServer.ReadRequestHeadAsync(stream, ct);
            await stream.WriteAsync(Encoding.Latin1.GetBytes("HTTP/1.1 200 OK\r\n" + rest), ct);
            await Task.Delay(Timeout.Infinite, ct);
        });

        var result = await PollAsync(server, "expect: {bodyContains: hello}", timeout: "3s");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(5, result.Value(HttpSourceKind.ContentLengthBytes));
    }

    [Theory]
    [InlineData("PATCH", "Content-Length: 0")]
    [InlineData("PROPFIND", "Content-Length: 0")]
    [InlineData("DELETE", null)]
    [InlineData("OPTIONS", null)]
    [InlineData("GET", null)]
    public async Task Serialize_ZeroLengthForEveryMethodThatMayCarryABody(string method, string? length)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "http://example.test/");
        // A configured framing header is not the client's to take: the body is never chunked.
        Assert.True(request.Headers.TryAddWithoutValidation("Transfer-Encoding", "chunked"));

        var lines = Encoding.ASCII.GetString(await Http11Exchange.SerializeAsync(request, CancellationToken.None)).Split("\r\n");

        Assert.Equal(length, lines.SingleOrDefault(l => l.StartsWith("Content-Length", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.StartsWith("Transfer-Encoding", StringComparison.Ordinal));
    }

    [Fact]
    public void ParseStatusLine_ReadsVersionAndStatus()
    {
        Http11Exchange.ResponseHead.ParseStatusLine("HTTP/1.0 404 Not Found\r\n"u8, out var version, out var status);

        Assert.Equal(new Version(1, 0), version);
        Assert.Equal(404, status);
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var head = new StringBuilder();
        var buffer = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer, ct) > 0)
        {
            head.Append((char)buffer[0]);
        }

        return head.ToString();
    }
}
