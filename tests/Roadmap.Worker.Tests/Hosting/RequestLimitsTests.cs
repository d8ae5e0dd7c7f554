using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

public sealed class RequestLimitsTests
{
    private static IConfigurationSection Section(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>("Kestrel:Limits:" + v.Key, v.Value)))
            .Build()
            .GetSection("Kestrel:Limits");

    [Fact]
    public void Apply_NoOverrides_SetsTheDocumentedDefaults()
    {
        var limits = new KestrelServerOptions().Limits;

        RequestLimits.Apply(limits, Section());

        Assert.Equal(TimeSpan.FromSeconds(5), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), limits.KeepAliveTimeout);
        Assert.Equal(16 * 1024, limits.MaxRequestHeadersTotalSize);
        Assert.Equal(50, limits.MaxRequestHeaderCount);
        Assert.Equal(4 * 1024, limits.MaxRequestLineSize);
        Assert.Equal(1024, limits.MaxRequestBodySize);
        Assert.Equal(RequestLimits.DefaultConnectionCap(RequestLimits.OpenFileLimit()), limits.MaxConcurrentConnections);
        Assert.Equal(240, limits.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(5), limits.MinRequestBodyDataRate.GracePeriod);
    }

    [Theory]
    [InlineData(null, 4096)]
    [InlineData(1_048_576L, 4096)]
    [InlineData(5120L, 4096)]
    [InlineData(4096L, 3072)]
    [InlineData(1024L, 256)]
    public void DefaultConnectionCap_OpenFileLimit_LeavesTheReserveAndStaysWithinBounds(long? openFiles, long expected)
    {
        Assert.Equal(expected, RequestLimits.DefaultConnectionCap(openFiles));
    }

    [Fact]
    public void OpenFileLimit_OnLinux_IsTheRaisedSoftLimit()
    {
        var limit = RequestLimits.OpenFileLimit();

        // The soft limit, raised to the hard one: what /proc reports for this process afterwards.
        var line = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(fields[3], fields[4]);
        Assert.Equal(fields[3] == "unlimited" ? long.MaxValue : long.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture), limit);
    }

    [Fact]
    public void Apply_Overrides_AreTaken()
    {
        var limits = new KestrelServerOptions().Limits;

        RequestLimits.Apply(limits, Section(
            ("RequestHeadersTimeout", "00:00:03"), ("keepalivetimeout", "00:01:00"), ("MaxRequestBodySize", "4096"),
            ("MaxConcurrentConnections", "5"), ("MinRequestBodyDataRate:BytesPerSecond", "100"), ("MinRequestBodyDataRate:GracePeriod", "00:00:02")));

        Assert.Equal(TimeSpan.FromSeconds(3), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), limits.KeepAliveTimeout);
        Assert.Equal(4096, limits.MaxRequestBodySize);
        Assert.Equal(5, limits.MaxConcurrentConnections);
        Assert.Equal(100, limits.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(2), limits.MinRequestBodyDataRate.GracePeriod);
    }

    public static TheoryData<string, string, string> BadValues() => new()
    {
        { "RequestHeadersTimeout", "10s", "Kestrel:Limits:RequestHeadersTimeout: bad duration \"10s\"" },
        { "KeepAliveTimeout", "-00:00:01", "Kestrel:Limits:KeepAliveTimeout: bad duration" },
        { "MaxRequestHeaderCount", "0", "Kestrel:Limits:MaxRequestHeaderCount: bad number \"0\"" },
        { "MaxRequestLineSize", "99999999999", "Kestrel:Limits:MaxRequestLineSize: bad number" },
        { "MaxRequestBodySize", "1 KiB", "Kestrel:Limits:MaxRequestBodySize: bad number \"1 KiB\"" },
        { "MinRequestBodyDataRate:BytesPerSecond", "fast", "Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond: bad number \"fast\"" },
        { "MinRequestBodyDataRate:Grace", "00:00:01", "Kestrel:Limits:MinRequestBodyDataRate:Grace: unknown key" },
        { "RequestHeaderTimeout", "00:00:01", "Kestrel:Limits:RequestHeaderTimeout: unknown key" },
        { "MaxConcurrentConnectionsPerClient", "-1", "Kestrel:Limits:MaxConcurrentConnectionsPerClient: bad number \"-1\"" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Apply_BadValue_ThrowsNamingTheKey(string key, string value, string expectedStart)
    {
        var e = Assert.Throws<HostingConfigException>(() =>
        {
            RequestLimits.Apply(new KestrelServerOptions().Limits, Section((key, value)));
            RequestLimits.PerClientConnectionCap(Section((key, value)), 4096);
        });

        Assert.StartsWith(expectedStart, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PerClientConnectionCap_NotConfigured_IsHalfTheConnectionCap()
    {
        Assert.Equal(2048, RequestLimits.PerClientConnectionCap(Section(), 4096));
        Assert.Equal(128, RequestLimits.PerClientConnectionCap(Section(), 256));
        Assert.Equal(7, RequestLimits.PerClientConnectionCap(Section(("MaxConcurrentConnectionsPerClient", "7")), 4096));
    }

    [Fact]
    public async Task Connections_OneClientOverItsCap_AreClosedAtOnceWhileAnotherClientIsServed()
    {
        var settings = new Dictionary<string, string?> { ["Kestrel:Limits:MaxConcurrentConnectionsPerClient"] = "5" };
        await using var host = await RunningHost.StartAsync(settings: settings);
        var flooding = IPAddress.Parse("127.0.0.2");
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                held.Add(await ConnectAsync(flooding, host.Address.Port));
            }

            using var other = await ConnectAsync(IPAddress.Loopback, host.Address.Port);
            var answers = new List<string>();
            foreach (var socket in held)
            {
                answers.Add(await GetHealthzAsync(socket));
            }

            // Kestrel may count them in any order: one of 127.0.0.2's six is closed unanswered, the other five and
            // another client's connection are served.
            Assert.Equal(1, answers.Count(a => a.Length == 0));
            Assert.Equal(5, answers.Count(a => a.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)));
            Assert.StartsWith("HTTP/1.1 200", await GetHealthzAsync(other), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var s in held)
            {
                s.Dispose();
            }
        }
    }

    private static async Task<Socket> ConnectAsync(IPAddress from, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        return socket;
    }

    /// <summary>Sends GET /healthz and reads the answer's start; "" when the server closed the connection instead.</summary>
    private static async Task<string> GetHealthzAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64];
        try
        {
            await socket.SendAsync("GET /healthz HTTP/1.1\r\nHost: roadmap\r\n\r\n"u8.ToArray(), timeout.Token);
            var read = await socket.ReceiveAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (SocketException)
        {
            return ""; // reset: closed as well
        }
    }

    [Fact]
    public async Task Request_HeadersOverTheCap_Gets431()
    {
        await using var host = await RunningHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Add("X-Padding", new string('a', 20 * 1024));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Request_TooManyHeaders_Gets431_AFewAreFine()
    {
        await using var host = await RunningHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Address };

        using var many = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        using var few = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        for (var i = 0; i < 60; i++)
        {
            many.Headers.Add($"X-H{i}", "1");
            if (i < 20)
            {
                few.Headers.Add($"X-H{i}", "1");
            }
        }

        using var manyResponse = await http.SendAsync(many);
        using var fewResponse = await http.SendAsync(few);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, manyResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fewResponse.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Request_BodyOverTheCap_Gets413(bool chunked)
    {
        await using var host = await RunningHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Address };
        using var content = new ByteArrayContent(new byte[2048]);
        if (chunked)
        {
            content.Headers.ContentLength = null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/metrics") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Request_SmallBody_IsNotRefusedForItsSize()
    {
        await using var host = await RunningHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Address };
        using var content = new ByteArrayContent(new byte[100]);

        using var response = await http.PostAsync(new Uri("/healthz", UriKind.Relative), content);

        // /healthz is GET only: the method is what is wrong, not the size.
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Slowloris_HeadersSentByteByByte_IsCutOffAfterTheHeadersTimeout()
    {
        var settings = new Dictionary<string, string?> { ["Kestrel:Limits:RequestHeadersTimeout"] = "00:00:01" };
        await using var host = await RunningHost.StartAsync(settings: settings);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, host.Address.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));

        // One header byte every 200 ms, never ending the headers: bounded to 100 bytes (20 s), far past the timeout.
        var clock = Stopwatch.StartNew();
        var cutOff = false;
        for (var i = 0; i < 100 && !cutOff; i++)
        {
            try
            {
                await stream.WriteAsync("a"u8.ToArray());
                await Task.Delay(200);
                cutOff = client.Client.Poll(0, SelectMode.SelectRead);
            }
            catch (IOException)
            {
                cutOff = true;
            }
        }

        Assert.True(cutOff, "the server kept the slow connection open for 20 s");
        // Kestrel answers 408 when it can, then closes; either way nothing but that is read.
        var buffer = new byte[1024];
        var read = 0;
        try
        {
            read = await stream.ReadAsync(buffer);
        }
        catch (IOException)
        {
        }

        var text = Encoding.ASCII.GetString(buffer, 0, read);
        Assert.True(read == 0 || text.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), text);
        // The 1 s override, not the 10 s default, applied (Kestrel checks timeouts once a second: slack for a busy machine).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"cut off only after {clock.Elapsed}");
    }
}
