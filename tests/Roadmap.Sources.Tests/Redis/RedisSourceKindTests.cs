using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

public class RedisSourceKindTests
{
    // Line 3 of the loaded file is "  - id: cache"; a key's value in this source starts on column 14.
    private static string Source(params string[] keys) =>
        string.Join('\n', new[] { "- id: cache", "  kind: redis" }.Concat(keys.Select(k => "  " + k)));

    [Fact]
    public void Bind_EveryKey_ReadsThem()
    {
        var env = new Dictionary<string, string> { ["REDIS_PASSWORD"] = "pa55word" };

        var config = RedisConfigs.Source(
            Source("address: cache.internal:6380", "user: roadmap", "password: ${REDIS_PASSWORD}", "tls: true"),
            env.GetValueOrDefault);

        Assert.Equal(new RedisOptions("cache.internal", 6380, "roadmap", "pa55word", Tls: true), config.Options);
        Assert.Equal([RedisSourceKind.Hits, RedisSourceKind.Misses, RedisSourceKind.HitRatio], config.Signals);
    }

    [Fact]
    public void Bind_OnlyAddress_NoAuthAndNoTls()
    {
        var config = RedisConfigs.Source(Source("address: 127.0.0.1:6379"));

        Assert.Equal(new RedisOptions("127.0.0.1", 6379, null, null, Tls: false), config.Options);
        Assert.Equal("127.0.0.1:6379", ((RedisOptions)config.Options).Address);
    }

    [Theory]
    [InlineData("\"[::1]:6380\"", "::1", 6380, "[::1]:6380")]
    [InlineData("localhost:1", "localhost", 1, "localhost:1")]
    [InlineData("10.0.0.7:65535", "10.0.0.7", 65535, "10.0.0.7:65535")]
    public void Bind_GoodAddress_SplitsHostAndPort(string address, string host, int port, string formatted)
    {
        var options = Assert.IsType<RedisOptions>(RedisConfigs.Source(Source($"address: {address}")).Options);

        Assert.Equal(host, options.Host);
        Assert.Equal(port, options.Port);
        Assert.Equal(formatted, options.Address);
    }

    [Fact]
    public void Bind_MissingAddress_ReportsIt()
    {
        var errors = RedisConfigs.Errors(Source("tls: false"));

        Assert.Equal(["test.yaml:3:5: sources[cache]: missing required key \"address\""], errors);
    }

    [Theory]
    [InlineData("localhost", "expected host:port, e.g. 127.0.0.1:6379")]
    [InlineData(":6379", "expected host:port, e.g. 127.0.0.1:6379")]
    [InlineData("redis://localhost:6379", "expected host:port, e.g. 127.0.0.1:6379")]
    [InlineData("bad host:6379", "expected host:port, e.g. 127.0.0.1:6379")]
    [InlineData("localhost:", "the port must be a number from 1 to 65535")]
    [InlineData("localhost:0", "the port must be a number from 1 to 65535")]
    [InlineData("localhost:65536", "the port must be a number from 1 to 65535")]
    [InlineData("localhost:+6379", "the port must be a number from 1 to 65535")]
    [InlineData("localhost:redis", "the port must be a number from 1 to 65535")]
    [InlineData("::1:6379", "put an IPv6 address in brackets, e.g. [::1]:6379")]
    [InlineData("[nope]:6379", "expected host:port, e.g. 127.0.0.1:6379")]
    public void Bind_BadAddress_ReportsTheExactError(string address, string problem)
    {
        var errors = RedisConfigs.Errors(Source($"address: \"{address}\""));

        Assert.Equal([$"test.yaml:5:14: sources[cache].address: bad address \"{address}\": {problem}"], errors);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("on")]
    public void Bind_BadTls_ReportsTheExactError(string tls)
    {
        var errors = RedisConfigs.Errors(Source("address: 127.0.0.1:6379", $"tls: {tls}"));

        Assert.Equal([$"test.yaml:6:10: sources[cache].tls: bad boolean \"{tls}\": expected true or false"], errors);
    }

    [Fact]
    public void Bind_UserWithoutPassword_ReportsIt()
    {
        var errors = RedisConfigs.Errors(Source("address: 127.0.0.1:6379", "user: roadmap"));

        Assert.Equal(["test.yaml:6:11: sources[cache].user: a user needs a password: set password or passwordFile too"], errors);
    }

    [Fact]
    public void Bind_PasswordFile_ReadsTheSecretWithoutItsNewline()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "from-a-file\n");

            var config = RedisConfigs.Source(Source("address: 127.0.0.1:6379", "user: roadmap", $"passwordFile: \"{file}\""));

            Assert.Equal(new RedisOptions("127.0.0.1", 6379, "roadmap", "from-a-file", Tls: false), config.Options);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>A system file named by mistake was once sent whole as AUTH; a secret file holds one line, as for tokenFile.</summary>
    [Fact]
    public void Bind_PasswordFileOfSeveralLines_IsAnErrorAtPasswordFileThatNeverQuotesIt()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n");

            var errors = RedisConfigs.Errors(Source("address: 127.0.0.1:6379", "user: roadmap", $"passwordFile: \"{file}\""));

            Assert.Equal([$"test.yaml:7:19: sources[cache].passwordFile: passwordFile \"{file}\" holds a line break (LF) after removing one trailing newline; a secret file must hold one line of text"], errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Bind_PasswordFromUnsetVariable_ReportsOnlyTheVariable()
    {
        var errors = RedisConfigs.Errors(Source("address: 127.0.0.1:6379", "user: roadmap", "password: ${REDIS_PASSWORD}"));

        Assert.Equal(["test.yaml:7:15: sources[cache].password: environment variable REDIS_PASSWORD is not set"], errors);
    }

    [Fact]
    public void Bind_DatabaseKey_IsUnknown()
    {
        var error = Assert.Single(RedisConfigs.Errors(Source("address: 127.0.0.1:6379", "database: 2")));

        Assert.StartsWith("test.yaml:6:5: sources[cache].database: unknown key \"database\" (known keys here: ", error);
        Assert.Contains("address", error);
    }

    [Fact]
    public async Task WarmUpAsync_WithoutAnyServer_CompletesPromptly()
    {
        ISourceKind kind = new RedisSourceKind();
        var clock = Stopwatch.StartNew();

        await kind.WarmUpAsync(new SourceContext(TimeProvider.System, NullLoggerFactory.Instance), CancellationToken.None);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the warm-up took {clock.Elapsed}");
    }

    [Fact]
    public void Options_ToString_NeverShowsThePassword()
    {
        var options = new RedisOptions("127.0.0.1", 6379, "roadmap", "hunter2", Tls: false);

        var text = options.ToString();

        Assert.DoesNotContain("hunter2", text);
        Assert.Contains("Password = *****", text);
        Assert.Contains("User = roadmap", text);
    }
}
