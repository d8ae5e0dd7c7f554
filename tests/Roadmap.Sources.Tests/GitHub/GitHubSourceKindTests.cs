using Roadmap.Sources.GitHub;

namespace Roadmap.Sources.Tests.GitHub;

public class GitHubSourceKindTests
{
    // Line 3 of the loaded file is "  - id: bugs"; the lines of `keys` follow from line 5, values at column 5 + key length + 2.
    private static string Source(string keys) =>
        $"""
        - id: bugs
          kind: github
        {string.Join('\n', keys.Split('\n').Select(l => "  " + l))}
        """;

    private static GitHubSearchOptions Options(string keys, Func<string, string?>? environment = null) =>
        (GitHubSearchOptions)GitHubConfigs.Source(Source(keys), environment).Options;

    [Fact]
    public void Bind_RepositoryAndQuery_DefaultsToGitHubComWithoutToken()
    {
        var config = GitHubConfigs.Source(Source("""
            repository: acme/shop
            query: is:issue is:open label:bug
            """));

        var options = Assert.IsType<GitHubSearchOptions>(config.Options);
        Assert.Equal("github", config.Kind);
        Assert.Equal("acme/shop", options.Repository);
        Assert.Equal("is:issue is:open label:bug", options.Query);
        Assert.Null(options.Token);
        Assert.Equal(new Uri("https://api.github.com"), options.ApiUrl);
        Assert.Equal([GitHubSourceKind.Count, GitHubSourceKind.Incomplete], config.Signals);
    }

    [Fact]
    public void Bind_TokenAndEnterpriseApiUrl_AreRead()
    {
        var options = Options(
            """
            repository: Acme-Corp/shop.web_2
            query: is:pr is:open
            token: ${GITHUB_TOKEN}
            apiUrl: https://ghe.example.com/api/v3
            """,
            name => name == "GITHUB_TOKEN" ? "ghp_abc123" : null);

        Assert.Equal("Acme-Corp/shop.web_2", options.Repository);
        Assert.Equal("ghp_abc123", options.Token);
        Assert.Equal(new Uri("https://ghe.example.com/api/v3"), options.ApiUrl);
    }

    [Fact]
    public void Bind_TokenFile_ReadsTheSecretFromTheFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "ghp_fromfile\n");

            var options = Options($"repository: acme/shop\nquery: is:issue\ntokenFile: {file}");

            Assert.Equal("ghp_fromfile", options.Token);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("is:issue -repo:acme/shop-archive")]
    [InlineData("is:pr label:repo-migration")]
    [InlineData("is:issue author:octocat in:title repo")]
    public void Bind_QueryThatOnlyNarrowsTheSearch_IsAccepted(string query)
    {
        Assert.Equal(query, Options($"repository: acme/shop\nquery: {query}").Query);
    }

    [Theory]
    [InlineData("https://api.github.com", "is:issue is:open label:bug",
        "https://api.github.com/search/issues?q=repo%3Aacme%2Fshop%20is%3Aissue%20is%3Aopen%20label%3Abug&per_page=1")]
    [InlineData("https://ghe.example.com/api/v3/", "is:issue label:\"help wanted\" -label:wontfix",
        "https://ghe.example.com/api/v3/search/issues?q=repo%3Aacme%2Fshop%20is%3Aissue%20label%3A%22help%20wanted%22%20-label%3Awontfix&per_page=1")]
    [InlineData("http://127.0.0.1:8080/prefix", "is:issue created:>=2026-01-01 a+b&c=d#e",
        "http://127.0.0.1:8080/prefix/search/issues?q=repo%3Aacme%2Fshop%20is%3Aissue%20created%3A%3E%3D2026-01-01%20a%2Bb%26c%3Dd%23e&per_page=1")]
    public void SearchUrl_Query_IsScopedToTheRepositoryAndEscaped(string apiUrl, string query, string expected)
    {
        var options = new GitHubSearchOptions("acme/shop", query, null, new Uri(apiUrl));

        Assert.Equal(expected, options.SearchUrl.AbsoluteUri);
    }

    [Fact]
    public void ToString_WithToken_NeverPrintsIt()
    {
        const string canary = "ghp_CANARY0123456789";
        var config = GitHubConfigs.Source(
            Source("repository: acme/shop\nquery: is:issue\ntoken: ${T}"),
            name => name == "T" ? canary : null);

        Assert.DoesNotContain(canary, config.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(canary, config.Options.ToString(), StringComparison.Ordinal);
        Assert.Contains("Token = (set)", config.Options.ToString(), StringComparison.Ordinal);
        Assert.Contains("Repository = acme/shop", config.Options.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        {
            "query: is:issue",
            ["test.yaml:3:5: sources[bugs]: missing required key \"repository\""]
        },
        {
            "repository: acme/shop",
            ["test.yaml:3:5: sources[bugs]: missing required key \"query\""]
        },
        {
            "repository: acme\nquery: is:issue",
            ["test.yaml:5:17: sources[bugs].repository: bad repository \"acme\": expected owner/name, e.g. acme/shop"]
        },
        {
            "repository: acme/shop/web\nquery: is:issue",
            ["test.yaml:5:17: sources[bugs].repository: bad repository \"acme/shop/web\": expected owner/name, e.g. acme/shop"]
        },
        {
            "repository: https://github.com/acme/shop\nquery: is:issue",
            ["test.yaml:5:17: sources[bugs].repository: bad repository \"https://github.com/acme/shop\": expected owner/name, e.g. acme/shop"]
        },
        {
            "repository: -acme/shop\nquery: is:issue",
            ["test.yaml:5:17: sources[bugs].repository: bad repository \"-acme/shop\": expected owner/name, e.g. acme/shop"]
        },
        {
            "repository: acme/..\nquery: is:issue",
            ["test.yaml:5:17: sources[bugs].repository: bad repository \"acme/..\": expected owner/name, e.g. acme/shop"]
        },
        {
            "repository: \"acme/shop web\"\nquery: is:issue",
            ["test.yaml:5:17: sources[bugs].repository: bad repository \"acme/shop web\": expected owner/name, e.g. acme/shop"]
        },
        {
            "repository: acme/shop\nquery: is:issue repo:other/app",
            ["test.yaml:6:12: sources[bugs].query: the query must not name its own scope (repo:): the repository key scopes the search"]
        },
        {
            "repository: acme/shop\nquery: Org:acme is:issue",
            ["test.yaml:6:12: sources[bugs].query: the query must not name its own scope (Org:): the repository key scopes the search"]
        },
        {
            "repository: acme/shop\nquery: is:issue\napiUrl: ftp://api.github.com",
            ["test.yaml:7:13: sources[bugs].apiUrl: bad URL \"ftp://api.github.com\": expected an absolute http:// or https:// URL"]
        },
        {
            "repository: acme/shop\nquery: is:issue\napiUrl: api.github.com",
            ["test.yaml:7:13: sources[bugs].apiUrl: bad URL \"api.github.com\": expected an absolute http:// or https:// URL"]
        },
        {
            "repository: acme/shop\nquery: is:issue\napiUrl: https://ghe.example.com/api/v3?x=1",
            ["test.yaml:7:13: sources[bugs].apiUrl: bad URL \"https://ghe.example.com/api/v3?x=1\": API paths are appended to it, so it must not have a query or fragment"]
        },
        {
            "repository: acme/shop\nquery: is:issue\ntoken: \"\"",
            ["test.yaml:7:12: sources[bugs].token: must not be empty (leave the key out for anonymous requests)"]
        },
        {
            "repository: acme/shop\nquery: is:issue\nlabels: [bug]",
            ["test.yaml:7:5: sources[bugs].labels: unknown key \"labels\" (known keys here: apiUrl, cron, every, id, kind, query, repository, timeout, tls, token, tokenFile)"]
        },
        {
            "repository: acme\nquery: repo:acme/x",
            [
                "test.yaml:5:17: sources[bugs].repository: bad repository \"acme\": expected owner/name, e.g. acme/shop",
                "test.yaml:6:12: sources[bugs].query: the query must not name its own scope (repo:): the repository key scopes the search",
            ]
        },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bind_BadKey_ReportsTheExactError(string keys, string[] expected)
    {
        Assert.Equal(expected, GitHubConfigs.Errors(Source(keys)));
    }

    [Theory]
    [InlineData("ghp abc")]
    [InlineData("ghp_abc\n")]
    [InlineData("ghp_abcé")]
    public void Bind_TokenNotFitForAHeader_ReportsAnErrorThatDoesNotQuoteIt(string token)
    {
        var errors = GitHubConfigs.Errors(Source("repository: acme/shop\nquery: is:issue\ntoken: ${T}"), name => name == "T" ? token : null);

        Assert.Equal(["test.yaml:7:12: sources[bugs].token: must be printable ASCII without spaces or line breaks (it is sent in an HTTP header)"], errors);
    }

    [Fact]
    public void Create_ValidConfig_MakesAGitHubSource()
    {
        var config = GitHubConfigs.Source(Source("repository: acme/shop\nquery: is:issue"));

        var source = new GitHubSourceKind().Create(config, new SourceContext(TimeProvider.System, NullLoggerFactory.Instance));

        Assert.Same(config, Assert.IsType<GitHubSource>(source).Config);
    }
}
