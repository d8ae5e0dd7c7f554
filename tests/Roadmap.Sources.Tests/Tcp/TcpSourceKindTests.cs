using Roadmap.Sources.Tcp;

namespace Roadmap.Sources.Tests.Tcp;

public class TcpSourceKindTests
{
    private static string Source(params string[] keys) =>
        string.Join('\n', new[] { "- id: port", "  kind: tcp" }.Concat(keys.Select(k => "  " + k)));

    [Fact]
    public void Bind_EveryKey_ReadsThemWithYamlEscapesInSend()
    {
        var config = TestConfigs.Source(Source("address: \"[::1]:6379\"", "send: \"PING\\r\\n\"", "expect: ^\\+PONG$"));

        Assert.Equal(new TcpOptions("::1", 6379, "PING\r\n", "^\\+PONG$"), config.Options);
        Assert.Equal(
            [TcpSourceKind.Up, TcpSourceKind.ConnectSeconds, TcpSourceKind.TlsSeconds, TcpSourceKind.TlsVersion, TcpSourceKind.CertExpirySeconds],
            config.Signals);
    }

    [Fact]
    public void Bind_TlsBlock_ReadsItAndAnEmptyOneMeansTheSystemDefaults()
    {
        var empty = TestConfigs.Source(Source("address: shop.test:443", "tls: {}"));
        var named = TestConfigs.Source(Source("address: 127.0.0.1:443", "tls: { serverName: shop.test, minVersion: TLS13 }"));

        Assert.Equal(Roadmap.Sources.Network.TlsSettings.Default, ((TcpOptions)empty.Options).Tls);
        Assert.Equal("shop.test", ((TcpOptions)named.Options).Tls!.ServerName);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, ((TcpOptions)named.Options).Tls!.MinVersion);
    }

    [Fact]
    public void Bind_TlsCaFileMissing_IsAConfigErrorAtTheKey()
    {
        var errors = TestConfigs.Errors(Source("address: 127.0.0.1:443", "tls: { caFile: /nonexistent/ca.pem }"));

        Assert.Contains(errors, e => e.Contains("sources[port].tls.caFile:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("address: localhost", "expected host:port, e.g. 127.0.0.1:22")]
    [InlineData("address: localhost:0", "the port must be a number from 1 to 65535")]
    [InlineData("address: \"::1:22\"", "put an IPv6 address in brackets, e.g. [::1]:22")]
    public void Bind_BadAddress_ReportsIt(string key, string problem)
    {
        var errors = TestConfigs.Errors(Source(key));

        Assert.Contains(errors, e => e.Contains("sources[port].address: bad address", StringComparison.Ordinal) && e.EndsWith(problem, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("expect: \"(a)\\\\1\"", "sources[port].expect: not supported here")]
    [InlineData("expect: \"(?=x)\"", "sources[port].expect: not supported here")]
    [InlineData("expect: \"[\"", "sources[port].expect: bad regular expression")]
    public void Bind_PatternTheSafeEngineRefuses_IsAConfigError(string key, string expected)
    {
        var errors = TestConfigs.Errors(Source("address: 127.0.0.1:22", key));

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Bind_SendOverTheCap_IsAConfigError()
    {
        var errors = TestConfigs.Errors(Source("address: 127.0.0.1:22", $"send: {new string('x', TcpOptions.MaxSendBytes + 1)}"));

        Assert.Contains(errors, e => e.Contains($"sources[port].send: is {TcpOptions.MaxSendBytes + 1} bytes long", StringComparison.Ordinal));
    }

    [Fact]
    public void Bind_PatternOverTheCap_IsAConfigError()
    {
        var errors = TestConfigs.Errors(Source("address: 127.0.0.1:22", $"expect: {new string('a', ProbePattern.MaxLength + 1)}"));

        Assert.Contains(errors, e => e.Contains("sources[port].expect: the pattern is", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WarmUpAsync_LoopbackDenied_StillCompletes()
    {
        // The warm-up's stand-in is on loopback; a deny list covering loopback must not make it wait for a probe
        // that never comes.
        var context = Roadmap.Sources.Tests.Network.Networks.Context(Roadmap.Sources.Tests.Network.Networks.Policy("deny: [127.0.0.0/8]"));

        await new TcpSourceKind().WarmUpAsync(context, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
    }
}
