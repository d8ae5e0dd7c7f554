using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Sql;

/// <summary>provider: postgres under settings.network: every host is checked before Npgsql connects.</summary>
public sealed class PostgresSourceNetworkTests
{
    private static string Source(string connectionString) =>
        $"""
        - id: db
          kind: sql
          timeout: 2s
          provider: postgres
          connectionString: "{connectionString}"
          query: SELECT 1
        """;

    [Theory]
    [InlineData("Host=169.254.169.254;Username=roadmap", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("Host=169.254.169.254:5433;Username=roadmap", "denied: 169.254.169.254 is in the network deny list (169.254.0.0/16)")]
    [InlineData("Host=127.0.0.1,[fd00:ec2::254]:5432;Username=roadmap", "denied: fd00:ec2::254 is in the network deny list (fd00:ec2::254/128)")]
    public async Task PollAsync_MetadataHost_FailsDeniedAsData(string connectionString, string expected)
    {
        var result = await Networks.PollOnceAsync(Source(connectionString), Networks.Policy());

        Assert.Equal(expected, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_DeniedLoopbackPort_NeverConnects()
    {
        using var port = new UntouchedPort();

        var result = await Networks.PollOnceAsync(Source($"Host=127.0.0.1;Port={port.Port};Username=roadmap"), Networks.Policy("deny: [127.0.0.0/8]"));

        Assert.Equal("denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)", result.Failure);
        Assert.False(port.Touched);
    }

    [Fact]
    public async Task PollAsync_NameWithOneDeniedAddress_NeverConnects()
    {
        // Npgsql resolves the name again and may take any address: one denied address refuses the host.
        using var port = new UntouchedPort();
        var policy = Networks.Policy("deny: [127.0.0.2/32]", new Dictionary<string, string[]> { ["db.test"] = ["127.0.0.1", "127.0.0.2"] });

        var result = await Networks.PollOnceAsync(Source($"Host=db.test;Port={port.Port};Username=roadmap"), policy);

        Assert.Equal("denied: 127.0.0.2 is in the network deny list (127.0.0.2/32): db.test resolves there", result.Failure);
        Assert.False(port.Touched);
    }
}
