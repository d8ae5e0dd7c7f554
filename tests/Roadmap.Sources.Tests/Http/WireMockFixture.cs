using WireMock.Server;

namespace Roadmap.Sources.Tests.Http;

/// <summary>One WireMock server per test class, on a free port. Tests use their own paths, so they never see each other's requests.</summary>
public sealed class WireMockFixture : IAsyncLifetime
{
    public WireMockServer Server { get; } = WireMockServer.Start();

    /// <summary>
    /// The first request to a cold server (JIT, Kestrel start-up) can take seconds on a busy machine: pay for it here,
    /// not inside the first test's probe timeout.
    /// </summary>
    public async Task InitializeAsync()
    {
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri(Server.Url + "/__warm-up"));
    }

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }
}
