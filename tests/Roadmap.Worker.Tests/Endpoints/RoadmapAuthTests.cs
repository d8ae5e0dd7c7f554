using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Worker.Endpoints;
using Roadmap.Worker.Tests.Hosting;

namespace Roadmap.Worker.Tests.Endpoints;

public sealed class RoadmapAuthTests
{
    private const string Token = "t0ken,with=odd;chars";

    // "pass" hashed by `htpasswd -nbBC 10 ops pass` ($2y$) and by Python's crypt with METHOD_BLOWFISH ($2b$): hashes
    // made by the tools the README names, not by the library under test.
    private const string HtpasswdHash = "$2y$10$AIy5R3cUsP/lJ2dzCWEvLOrrvCmyzVRGQyZKNwSGLfgpjQGDfXMxG";
    private const string PythonHash = "$2b$10$2cKYYZ2Lvs2.TG2wUhpxUujVG19YvzbpExFD9hA1p9GWyLipVw4Tm";

    private static readonly AuthConfig Both = new(Token, new Dictionary<string, string> { ["ops"] = HtpasswdHash, ["grafana"] = PythonHash });

    private static string Basic(string userColonPassword) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userColonPassword));

    public static TheoryData<string, string?, bool> Headers() => new()
    {
        { "no header", null, false },
        { "bearer, right token", "Bearer " + Token, true },
        { "bearer, scheme in lower case", "bearer " + Token, true },
        { "bearer, wrong token", "Bearer nope", false },
        { "bearer, a prefix of the token", "Bearer " + Token[..^1], false },
        { "bearer, the token and more", "Bearer " + Token + "x", false },
        { "bearer, empty", "Bearer ", false },
        { "basic, htpasswd $2y$ user, right password", Basic("ops:pass"), true },
        { "basic, python $2b$ user, right password", Basic("grafana:pass"), true },
        { "basic, wrong password", Basic("ops:wrong"), false },
        { "basic, empty password", Basic("ops:"), false },
        { "basic, unknown user", Basic("root:pass"), false },
        { "basic, no colon", Basic("opspass"), false },
        { "basic, not base64", "Basic !!!", false },
        { "basic, the token as password", Basic("ops:" + Token), false },
        { "another scheme", "Digest username=\"ops\"", false },
        { "scheme only", "Bearer", false },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public async Task IsAuthorizedAsync_Header_AcceptsOnlyConfiguredCredentials(string scenario, string? header, bool expected)
    {
        using var auth = new RoadmapAuth(Both);

        Assert.True(expected == await auth.IsAuthorizedAsync(header, CancellationToken.None), scenario);
    }

    [Fact]
    public async Task IsAuthorizedAsync_TokenOnly_RefusesBasicAndChallengesBearer()
    {
        using var auth = new RoadmapAuth(new AuthConfig(Token, new Dictionary<string, string>()));

        Assert.False(await auth.IsAuthorizedAsync(Basic("ops:pass"), CancellationToken.None));
        Assert.True(await auth.IsAuthorizedAsync("Bearer " + Token, CancellationToken.None));
        Assert.Equal("Bearer realm=\"Roadmap\"", auth.Challenge);
    }

    [Fact]
    public async Task IsAuthorizedAsync_UsersOnly_RefusesAnyBearerAndChallengesBasic()
    {
        using var auth = new RoadmapAuth(new AuthConfig(null, new Dictionary<string, string> { ["ops"] = HtpasswdHash }));

        Assert.False(await auth.IsAuthorizedAsync("Bearer " + Token, CancellationToken.None));
        Assert.False(await auth.IsAuthorizedAsync("Bearer ", CancellationToken.None));
        Assert.StartsWith("Basic realm=\"Roadmap\"", auth.Challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IsAuthorizedAsync_RightPasswordTwice_IsVerifiedOnceAndRemembered()
    {
        using var auth = new RoadmapAuth(Both);

        Assert.False(await auth.IsAuthorizedAsync(Basic("ops:wrong"), CancellationToken.None));
        Assert.Equal(0, auth.CachedCount);

        Assert.True(await auth.IsAuthorizedAsync(Basic("ops:pass"), CancellationToken.None));
        Assert.True(await auth.IsAuthorizedAsync(Basic("ops:pass"), CancellationToken.None));
        Assert.Equal(1, auth.CachedCount);

        // A remembered success must not open the door to another password or another user.
        Assert.False(await auth.IsAuthorizedAsync(Basic("ops:pass2"), CancellationToken.None));
        Assert.False(await auth.IsAuthorizedAsync(Basic("grafana:wrong"), CancellationToken.None));
        Assert.Equal(1, auth.CachedCount);
    }

    private const string AuthYaml = $$"""
        roadmap: { name: R }
        settings:
          auth:
            bearerToken: "{{Token}}"
            basicAuthUsers: { ops: "{{HtpasswdHash}}" }
        """;

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/")]
    [InlineData("/api/roadmap")]
    [InlineData("/api/initiatives/nope")]
    [InlineData("/no-such-page")]
    public async Task Request_WithoutCredentials_Is401WithChallengeAndNoBody(string path)
    {
        await using var host = await RunningHost.StartAsync(AuthYaml);
        using var http = new HttpClient { BaseAddress = host.Address };

        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic realm=\"Roadmap\", charset=\"UTF-8\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("Bearer", Token, HttpStatusCode.OK)]
    [InlineData("Basic", "ops:pass", HttpStatusCode.OK)]
    [InlineData("Basic", "ops:wrong", HttpStatusCode.Unauthorized)]
    [InlineData("Bearer", "wrong", HttpStatusCode.Unauthorized)]
    public async Task Metrics_WithCredentials_AnswersByTheirWorth(string scheme, string credential, HttpStatusCode expected)
    {
        await using var host = await RunningHost.StartAsync(AuthYaml);
        using var http = new HttpClient { BaseAddress = host.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, scheme == "Basic" ? Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)) : credential);

        using var response = await http.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Contains("roadmap_build_info", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Probes_WithAuthConfigured_StayOpen()
    {
        await using var host = await RunningHost.StartAsync(AuthYaml);
        using var http = new HttpClient { BaseAddress = host.Address };

        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        // Ready or not yet (the scheduler starts just after the host), but never asked for credentials.
        Assert.Contains(ready.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
    }

    [Fact]
    public async Task Metrics_WithoutAuthConfigured_IsOpen()
    {
        await using var host = await RunningHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.Address };

        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
