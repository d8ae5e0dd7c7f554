using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Tests.Configuration;

public sealed class ConfigReloadTests
{
    private const string Token = "tok-9f8e7d6c5b4a";
    private const string Bearer = "bearer-1a2b3c4d5e6f";

    private static RoadmapConfig Running()
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load($$"""
            roadmap: { name: Shop }
            settings: { auth: { bearerToken: "{{Bearer}}" } }
            sources:
              - { id: bugs, kind: github, repository: acme/shop, query: "is:issue", token: "{{Token}}" }
            """, "shop.yaml");
        Assert.Empty(loaded.Errors);
        return loaded.Config!;
    }

    [Fact]
    public void Failed_ErrorsQuotingSecrets_AreRedactedAndCutToTheFirstFew()
    {
        var at = new DateTimeOffset(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
        string[] errors = [$"shop.yaml:4:9: sources[x].url: bad URL \"https://{Token}@example.com\"", $"shop.yaml:5:9: header \"{Bearer}\"", "a", "b", "c", "d", "e"];

        var reload = ConfigReload.Failed(Running(), at, errors, 9);

        Assert.False(reload.Success);
        Assert.Equal("shop.yaml", reload.File);
        Assert.Equal(at, reload.At);
        Assert.Equal(9, reload.ErrorCount);
        Assert.Equal(ConfigReload.MaxErrors, reload.Errors.Count);
        Assert.Equal("shop.yaml:4:9: sources[x].url: bad URL \"https://***@example.com\"", reload.Errors[0]);
        Assert.Equal("shop.yaml:5:9: header \"***\"", reload.Errors[1]);
        Assert.DoesNotContain(reload.Errors, e => e.Contains(Token, StringComparison.Ordinal) || e.Contains(Bearer, StringComparison.Ordinal));
    }

    [Fact]
    public void Succeeded_HasNoErrors()
    {
        var reload = ConfigReload.Succeeded("shop.yaml", DateTimeOffset.UnixEpoch);

        Assert.True(reload.Success);
        Assert.Empty(reload.Errors);
        Assert.Equal(0, reload.ErrorCount);
    }
}
