using System.Net;
using System.Net.Sockets;
using System.Text;
using Roadmap.Sources.Tcp;
using Roadmap.Sources.Tests.Http;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Tcp;

/// <summary>The tcp kind against raw loopback listeners that answer, stay silent, talk without end, refuse or close.</summary>
public class TcpSourceTests
{
    private static string Probe(int port, string timeout = "5s", params string[] keys) =>
        string.Join('\n', new[] { "- id: port", "  kind: tcp", "  every: 1m", $"  timeout: {timeout}", $"  address: 127.0.0.1:{port}" }.Concat(keys.Select(k => "  " + k)));

    private static int PortOf(RawTcpServer server) => server.Url.Port;

    private static Task<PollResult> PollAsync(string source) => Networks.PollOnceAsync(source, Networks.Policy());

    [Fact]
    public async Task PollAsync_PortAccepts_UpWithConnectSeconds()
    {
        await using var server = new RawTcpServer((_, _) => Task.CompletedTask);

        var result = await PollAsync(Probe(PortOf(server)));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(TcpSourceKind.Up));
        Assert.InRange(result.Value(TcpSourceKind.ConnectSeconds)!.Value, 0, result.Duration.TotalSeconds);
    }

    [Fact]
    public async Task PollAsync_SendAndExpectedAnswer_SendsTheBytesAndIsUp()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            var buffer = new byte[6];
            await stream.ReadExactlyAsync(buffer, ct);
            received.TrySetResult(Encoding.ASCII.GetString(buffer));
            await stream.WriteAsync("+OK hello\r\n+PONG\r\n"u8.ToArray(), ct);
        });

        var result = await PollAsync(Probe(PortOf(server), "5s", "send: \"PING\\r\\n\"", "expect: ^\\+PONG$"));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(TcpSourceKind.Up));
        Assert.Equal("PING\r\n", await received.Task);
    }

    [Fact]
    public async Task PollAsync_ExpectedTextInALastLineWithoutNewline_IsUp()
    {
        await using var server = new RawTcpServer((stream, ct) => stream.WriteAsync("SSH-2.0-OpenSSH_9.2"u8.ToArray(), ct).AsTask());

        var result = await PollAsync(Probe(PortOf(server), "5s", "expect: ^SSH-2\\.0-"));

        Assert.True(result.Success, result.Failure);
    }

    [Fact]
    public async Task PollAsync_AnswerDoesNotMatch_DownQuotingTheLastLine()
    {
        await using var server = new RawTcpServer((stream, ct) => stream.WriteAsync("220 mail ESMTP\r\n"u8.ToArray(), ct).AsTask());

        var result = await PollAsync(Probe(PortOf(server), "5s", "expect: ^SSH-"));

        Assert.Equal("the server closed the connection after 16 bytes, no line matched expect (last line: \"220 mail ESMTP\")", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
        Assert.NotNull(result.Value(TcpSourceKind.ConnectSeconds));
    }

    [Fact]
    public async Task PollAsync_AcceptsAndNeverAnswers_TimesOutDownWithConnectSeconds()
    {
        await using var server = new RawTcpServer((_, ct) => Task.Delay(Timeout.Infinite, ct));

        var result = await PollAsync(Probe(PortOf(server), "1s", "expect: ready"));

        Assert.Equal("timeout after 1s waiting for a line to match expect", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
        Assert.NotNull(result.Value(TcpSourceKind.ConnectSeconds));
    }

    [Fact]
    public async Task PollAsync_AnswersWithoutEnd_StopsAtTheReadCap()
    {
        var written = 0L;
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("noise\n", 1000)));
            while (!ct.IsCancellationRequested)
            {
                await stream.WriteAsync(chunk, ct);
                Interlocked.Add(ref written, chunk.Length);
            }
        });

        // A long timeout: the cap, not the clock, must end the probe.
        var result = await PollAsync(Probe(PortOf(server), "30s", "expect: ^ready$"));

        // The cap may cut the last line: it is matched (and quoted) as far as it came.
        Assert.StartsWith($"read {TcpOptions.MaxReadBytes} bytes (the most read) and no line matched expect (last line: \"nois", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_OneEndlessLine_IsMatchedInPiecesAndStopsAtTheReadCap()
    {
        await using var server = new RawTcpServer(async (stream, ct) =>
        {
            var chunk = new byte[8192];
            Array.Fill(chunk, (byte)'a');
            while (!ct.IsCancellationRequested)
            {
                await stream.WriteAsync(chunk, ct);
            }
        });

        var result = await PollAsync(Probe(PortOf(server), "30s", "expect: b"));

        Assert.StartsWith($"read {TcpOptions.MaxReadBytes} bytes (the most read) and no line matched expect (last line: \"aaaa", result.Failure);
    }

    [Fact]
    public async Task PollAsync_ClosesAtOnceWithExpect_DownSayingSo()
    {
        await using var server = new RawTcpServer((_, _) => Task.CompletedTask);

        var result = await PollAsync(Probe(PortOf(server), "5s", "expect: x"));

        Assert.Equal("the server closed the connection without sending anything, expected a line matching expect", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
    }

    [Fact]
    public async Task PollAsync_PortRefuses_DownWithoutConnectSeconds()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var result = await PollAsync(Probe(port));

        Assert.Equal("connection refused", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
        Assert.Null(result.Value(TcpSourceKind.ConnectSeconds));
    }

    [Fact]
    public async Task PollAsync_DeniedAddress_NeverConnects()
    {
        using var port = new UntouchedPort();

        var result = await Networks.PollOnceAsync(Probe(port.Port), Networks.Policy("deny: [127.0.0.0/8]"));

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)", result.Failure);
        Assert.Equal(0, result.Value(TcpSourceKind.Up));
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_NameResolvingToADeniedAddress_NeverConnects()
    {
        using var port = new UntouchedPort();
        var policy = Networks.Policy("deny: [127.0.0.0/8]", new Dictionary<string, string[]> { ["internal.test"] = ["127.0.0.1"] });
        var source = $"- id: port\n  kind: tcp\n  address: internal.test:{port.Port}";

        var result = await Networks.PollOnceAsync(source, policy);

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8): internal.test resolves there", result.Failure);
        Assert.False(port.Touched);
    }
}
