using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary><c>settings.updates</c>: what a valid update reads as, and every mistake reported at its key, never quoting a URL.</summary>
public sealed class UpdatesConfigTests
{
    private const string Secret = "https://hooks.example.com/services/T0/B0/SECRETTOKEN";

    private static ConfigLoadResult Load(string updates, Func<string, string?>? environment = null) =>
        new ConfigLoader([new FakeSourceKindSpec()], environment ?? (_ => null)).Load($"roadmap: {{name: x}}\nsettings:\n  updates:\n{updates}", "test.yaml");

    private static string Errors(ConfigLoadResult result) => string.Join('\n', result.ErrorLines());

    [Fact]
    public void Load_WebhookAndFile_ReadAsUpdates()
    {
        var result = Load(
            "    - { name: weekly, cron: \"0 0 9 ? * MON\", url: \"${HOOK}\", format: slack }\n"
            + "    - { name: wiki, cron: \"0 0 9 ? * MON\", file: reports/roadmap.md, format: markdown }\n",
            name => name == "HOOK" ? Secret : null);

        Assert.True(result.IsValid, Errors(result));
        var updates = result.Config!.Settings.Updates.Items;
        Assert.Equal(("weekly", UpdateFormat.Slack, Secret, (string?)null), (updates[0].Name, updates[0].Format, updates[0].Url?.OriginalString, updates[0].File));
        Assert.Equal(("wiki", UpdateFormat.Markdown, (Uri?)null, "reports/roadmap.md"), (updates[1].Name, updates[1].Format, updates[1].Url, updates[1].File));
        Assert.DoesNotContain("SECRETTOKEN", updates[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TwoLoadsOfOneFile_AreEqualSettings()
    {
        const string updates = "    - { name: wiki, cron: \"0 0 9 ? * MON\", file: r.md, format: markdown }\n";

        Assert.Equal(Load(updates).Config!.Settings, Load(updates).Config!.Settings);
    }

    [Theory]
    [InlineData("{ name: a, cron: \"0 0 9 ? * MON\", url: \"https://h.example/x\", file: r.md, format: slack }", "settings.updates[a].file: set either url (or urlFile) or file, not both")]
    [InlineData("{ name: a, cron: \"0 0 9 ? * MON\", format: slack }", "settings.updates[a].format: set url (or urlFile) for a webhook, or file")]
    [InlineData("{ name: a, cron: \"0 0 9 ? * MON\", file: r.md, format: slack }", "settings.updates[a].format: format slack is for a webhook; a file takes markdown, html")]
    [InlineData("{ name: a, cron: \"0 0 9 ? * MON\", url: \"https://h.example/x\", format: html }", "settings.updates[a].format: format html is for a file; a webhook takes slack, teams, mattermost, json")]
    [InlineData("{ name: a, cron: \"0 9 * * 1\", file: r.md, format: markdown }", "settings.updates[a].cron: bad cron expression \"0 9 * * 1\": it has 5 fields")]
    [InlineData("{ name: a, cron: \"0 0 9 ? * MON\", file: r.md, format: markdown, channel: x }", "settings.updates[a].channel: unknown key \"channel\"")]
    [InlineData("{ name: a, cron: \"0 0 9 ? * MON\", file: r.md, format: pdf }", "settings.updates[a].format:")]
    public void Load_Mistake_IsAnErrorAtItsKey(string update, string error)
    {
        var result = Load($"    - {update}\n");

        Assert.False(result.IsValid);
        Assert.Contains(error, Errors(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DuplicateName_IsAnError()
    {
        var result = Load("    - { name: a, cron: \"0 0 9 ? * MON\", file: r.md, format: markdown }\n    - { name: a, cron: \"0 0 9 ? * MON\", file: s.md, format: markdown }\n");

        Assert.Contains("settings.updates[a].name: duplicate update name \"a\"", Errors(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UrlThatIsNoWebhook_IsAnErrorThatDoesNotQuoteIt()
    {
        var result = Load("    - { name: a, cron: \"0 0 9 ? * MON\", url: \"${HOOK}\", format: slack }\n", _ => "ftp://files.example/SECRETTOKEN");

        Assert.Contains("settings.updates[a].url: not an absolute http:// or https:// URL", Errors(result), StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETTOKEN", Errors(result), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UrlFile_ReadsTheSecretFromTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"roadmap-hook-{Guid.NewGuid():N}");
        File.WriteAllText(path, Secret + "\n");
        try
        {
            var result = Load($"    - {{ name: a, cron: \"0 0 9 ? * MON\", urlFile: \"{path}\", format: teams }}\n");

            Assert.True(result.IsValid, Errors(result));
            Assert.Equal(Secret, result.Config!.Settings.Updates.Items[0].Url!.OriginalString);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
