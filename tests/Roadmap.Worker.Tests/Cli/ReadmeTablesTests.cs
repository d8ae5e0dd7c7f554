using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Cli;

/// <summary>
/// README's config tables between <c>&lt;!-- generated: schema NAME ... --&gt;</c> and <c>&lt;!-- end generated --&gt;</c>
/// are the ones the key declarations give today. To regenerate them after changing a declaration, run this test with
/// <c>ROADMAP_UPDATE_DOCS=1</c>: it rewrites README.md (and passes), leaving the change for review in git.
/// </summary>
public class ReadmeTablesTests
{
    [Fact]
    public void Readme_GeneratedConfigTables_MatchTheDeclarations()
    {
        var path = Path.Combine(Repository.Root(), "README.md");
        var readme = File.ReadAllText(path);

        var generated = SchemaCommand.UpdateReadme(readme, out var missing);

        Assert.True(missing.Count == 0, $"README.md lacks the generated table(s) {string.Join(", ", missing)}: add a line {SchemaCommand.Marker("NAME")} and a line {SchemaCommand.EndMarker} where each goes");
        if (Environment.GetEnvironmentVariable("ROADMAP_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, generated);
            return;
        }

        Assert.True(
            generated == readme,
            "README.md's config tables differ from the key declarations (KeySpec): regenerate them with ROADMAP_UPDATE_DOCS=1 dotnet test tests/Roadmap.Worker.Tests --filter FullyQualifiedName~ReadmeTablesTests");
    }
}
