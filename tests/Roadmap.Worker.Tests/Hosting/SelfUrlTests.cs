using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

public sealed class SelfUrlTests
{
    [Theory]
    [InlineData("http://127.0.0.1:9810", "http://127.0.0.1:9810")]
    [InlineData("http://127.0.0.1:9811/", "http://127.0.0.1:9811")]
    [InlineData("http://0.0.0.0:9810", "http://127.0.0.1:9810")]
    [InlineData("http://*:8080", "http://127.0.0.1:8080")]
    [InlineData("http://+:8080", "http://127.0.0.1:8080")]
    [InlineData("http://localhost:5000", "http://127.0.0.1:5000")]
    [InlineData("http://[::]:9810", "http://[::1]:9810")]
    [InlineData("http://[::1]:9810", "http://[::1]:9810")]
    [InlineData("http://10.1.2.3:9810", "http://10.1.2.3:9810")]
    [InlineData("https://0.0.0.0:9443;http://0.0.0.0:9810", "http://127.0.0.1:9810")]
    [InlineData("https://127.0.0.1:9443", "https://127.0.0.1:9443")]
    public void FromListenUrls_ListenAddress_IsTheUrlThatReachesIt(string urls, string expected)
    {
        Assert.Equal(expected, SelfUrl.FromListenUrls(urls));
    }

    [Fact]
    public void Variables_SelfUrlUnsetInTheEnvironment_FollowsTheListenAddressAndLeavesOthersToTheEnvironment()
    {
        var lookup = SelfUrl.Variables("http://0.0.0.0:9999");

        Assert.Equal("http://127.0.0.1:9999", lookup(SelfUrl.Variable));
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), lookup("PATH"));
        Assert.Null(lookup("ROADMAP_SURELY_UNSET_VARIABLE"));
    }
}
