
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

/// <summary>
/// One test's own root on the shared server (a fresh path prefix, as GitHub Enterprise has /api/v3 or Jira Data Center
/// a context path), so tests never see each other's requests; with what the API kinds' tests do there.
/// </summary>
public sealed class WireMockRoot(WireMockServer server)
{
    public WireMockServer Server => server;

    /// <summary>The prefix, e.g. /0f3c...: every path of this test starts with it.</summary>
    public string Prefix { get; } = "/" + Guid.NewGuid().ToString("N");

    /// <summary>The server's URL with <see cref="Prefix"/>: what the source's config names.</summary>
    public string Url => server.Url + Prefix;

    /// <summary>A JSON answer with <paramref name="contentType"/> (each API sends its own).</summary>
    public static IResponseBuilder Json(string body, int status, string contentType) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", contentType).WithBody(body);

    /// <summary>Answers <paramref name="method"/> requests to <paramref name="path"/> (a full path, prefix included).</summary>
    public void Answer(string path, IResponseBuilder response, string method = "GET") =>
        server.Given(Request.Create().WithPath(path).UsingMethod(method)).RespondWith(response);

    /// <summary>The requests received at <paramref name="path"/>, oldest first.</summary>
    public List<IRequestMessage> Requests(string path) =>
        server.LogEntries.Select(e => e.RequestMessage).Where(r => r.Path == path).ToList();
}

/// <summary>What tests read of a request WireMock received (imported everywhere with a global <c>using static</c>).</summary>
public static class RequestMessages
{
    /// <summary>The value of the header <paramref name="name"/> (any case); null when absent.</summary>
    public static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.ToString();
}
