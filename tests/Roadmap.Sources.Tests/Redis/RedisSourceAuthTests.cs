using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>Against a real redis-server started with --requirepass, shared by the class; ACL users made per test.</summary>
public sealed class RedisSourceAuthTests(PasswordRedisServerFixture fixture) : IClassFixture<PasswordRedisServerFixture>
{
    private const string WrongPassword = "not-the-Pa55word";

    private readonly RedisServer _server = fixture.Server;

    private ISource Create(params string[] keys) => RedisConfigs.Create(_server.Address, "2s", keys);

    [Fact]
    public async Task PollAsync_RightPasswordFromTheEnvironment_Succeeds()
    {
        var env = new Dictionary<string, string> { ["REDIS_PASSWORD"] = PasswordRedisServerFixture.Password };
        await using var source = RedisConfigs.Create(RedisConfigs.Yaml(_server.Address, "2s", "password: ${REDIS_PASSWORD}"), env.GetValueOrDefault);
        await source.PollAsync(CancellationToken.None);

        await _server.LookUpAsync(hits: 3, misses: 1);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(second.Success, second.Failure);
        Assert.Equal(3, second.Value(RedisSourceKind.Hits));
        Assert.Equal(1, second.Value(RedisSourceKind.Misses));
        Assert.Equal(0.75, second.Value(RedisSourceKind.HitRatio));
    }

    [Fact]
    public async Task PollAsync_PasswordFile_Succeeds()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, PasswordRedisServerFixture.Password + "\n");
            await using var source = Create($"passwordFile: \"{file}\"");

            var result = await source.PollAsync(CancellationToken.None);

            Assert.True(result.Success, result.Failure);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task PollAsync_WrongPassword_FailsNamingAuthenticationWithoutThePassword()
    {
        await using var source = Create($"password: {WrongPassword}");

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal("authentication failed: wrong password (WRONGPASS)", result.Failure);
        Assert.DoesNotContain(WrongPassword, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_NoPassword_FailsSayingTheServerWantsOne()
    {
        await using var source = Create();

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal("authentication failed: the server wants a password and none is set (NOAUTH)", result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_AclUserWithOnlyInfoAndPing_Succeeds()
    {
        await _server.RunAsync("ACL", "SETUSER", "roadmap", "reset", "on", ">secret", "~*", "+info", "+ping");
        await using var source = Create("user: roadmap", "password: secret");
        var first = await source.PollAsync(CancellationToken.None);

        await _server.LookUpAsync(hits: 2, misses: 2);
        var second = await source.PollAsync(CancellationToken.None);

        Assert.True(first.Success, first.Failure);
        Assert.True(second.Success, second.Failure);
        Assert.Equal(2, second.Value(RedisSourceKind.Hits));
        Assert.Equal(2, second.Value(RedisSourceKind.Misses));
        Assert.Equal(0.5, second.Value(RedisSourceKind.HitRatio));
    }

    [Fact]
    public async Task PollAsync_AclUserWrongPassword_FailsNamingAuthenticationWithoutThePassword()
    {
        await _server.RunAsync("ACL", "SETUSER", "roadmap", "reset", "on", ">secret", "~*", "+info", "+ping");
        await using var source = Create("user: roadmap", $"password: {WrongPassword}");

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal("authentication failed: wrong user or password, or the user is disabled (WRONGPASS)", result.Failure);
        Assert.DoesNotContain(WrongPassword, result.Failure);
    }

    [Fact]
    public async Task PollAsync_AclUserWithoutInfo_FailsNamingThePermission()
    {
        await _server.RunAsync("ACL", "SETUSER", "no-info", "reset", "on", ">secret", "~*", "+ping");
        await using var source = Create("user: no-info", "password: secret");

        var result = await source.PollAsync(CancellationToken.None);

        Assert.Equal("INFO stats failed: NOPERM this user has no permissions to run the 'info' command", result.Failure);
    }
}
