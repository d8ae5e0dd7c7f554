using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary><c>settings.auth</c> through the real loader. The invalid shapes are under Worker.Tests' testdata/invalid.</summary>
public sealed class AuthConfigTests : IDisposable
{
    // `htpasswd -nbBC 10 ops pass`
    private const string Hash = "$2y$10$AIy5R3cUsP/lJ2dzCWEvLOrrvCmyzVRGQyZKNwSGLfgpjQGDfXMxG";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-auth-" + Guid.NewGuid().ToString("N"));

    public AuthConfigTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ConfigLoadResult Load(string auth, Dictionary<string, string>? environment = null) =>
        new ConfigLoader([], name => environment?.GetValueOrDefault(name)).Load($"roadmap: {{ name: x }}\nsettings:\n{auth}\n", "test.yaml");

    private static RoadmapConfig Valid(ConfigLoadResult result)
    {
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return result.Config!;
    }

    [Fact]
    public void Load_NoAuth_IsNull()
    {
        Assert.Null(Valid(Load("  evaluateEvery: 15s")).Settings.Auth);
    }

    [Fact]
    public void Load_BearerTokenFromVariable_IsExpanded()
    {
        var auth = Valid(Load("  auth: { bearerToken: \"${ROADMAP_TOKEN}\" }", new() { ["ROADMAP_TOKEN"] = "tok-123456" })).Settings.Auth;

        Assert.Equal("tok-123456", auth!.BearerToken);
        Assert.Empty(auth.BasicAuthUsers);
    }

    [Fact]
    public void Load_BearerTokenFile_IsTheFileLessItsNewline()
    {
        var path = Path.Combine(_dir, "token");
        File.WriteAllText(path, "file-token-42\n");

        var auth = Valid(Load($"  auth: {{ bearerTokenFile: \"{path}\" }}")).Settings.Auth;

        Assert.Equal("file-token-42", auth!.BearerToken);
    }

    [Fact]
    public void Load_BasicAuthUsers_AreKeptByNameAndNotPrinted()
    {
        var auth = Valid(Load($"  auth:\n    basicAuthUsers:\n      ops: \"{Hash}\"\n      grafana: '{Hash}'")).Settings.Auth;

        Assert.Null(auth!.BearerToken);
        Assert.Equal(Hash, auth.BasicAuthUsers["ops"]);
        Assert.Equal(Hash, auth.BasicAuthUsers["grafana"]);
        Assert.DoesNotContain(Hash, auth.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyTokenVariable_IsAnErrorNotAnOpenDoor()
    {
        var result = Load("  auth: { bearerToken: \"${ROADMAP_TOKEN}\" }", new() { ["ROADMAP_TOKEN"] = "" });

        Assert.False(result.IsValid);
        Assert.Equal("test.yaml:3:24: settings.auth.bearerToken: must not be empty", Assert.Single(result.Errors).ToString());
    }
}
