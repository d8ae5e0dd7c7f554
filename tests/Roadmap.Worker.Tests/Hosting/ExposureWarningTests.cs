using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

public sealed class ExposureWarningTests
{
    public static TheoryData<string, bool> Addresses() => new()
    {
        { "http://127.0.0.1:9810", false },
        { "http://127.0.0.2:9810", false },
        { "http://[::1]:9810", false },
        { "http://localhost:9810", false },
        { "https://LOCALHOST:9443", false },
        { "http://unix:/run/roadmap.sock", false },
        { "http://0.0.0.0:9810", true },
        { "http://[::]:9810", true },
        { "http://*:9810", true },
        { "http://+:9810", true },
        { "http://192.168.1.10:9810", true },
        { "https://roadmap.example.com:443", true },
    };

    [Theory]
    [MemberData(nameof(Addresses))]
    public void BeyondLoopback_Address_IsExposedOnlyWhenOthersCanReachIt(string address, bool exposed)
    {
        Assert.Equal(exposed ? [address] : [], ExposureWarning.BeyondLoopback([address]));
    }
}
