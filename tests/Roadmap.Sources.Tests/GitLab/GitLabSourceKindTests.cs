using Roadmap.Sources.GitLab;

namespace Roadmap.Sources.Tests.GitLab;

public class GitLabSourceKindTests
{
    // Line 3 of the loaded file is "  - id: gl-bugs"; the lines of `keys` follow from line 5, values at column 5 + key length + 2.
    private static string Source(string keys) =>
        $"""
        - id: gl-bugs
          kind: gitlab
        {string.Join('\n', keys.Split('\n').Select(l => "  " + l))}
        """;

    private static GitLabIssuesOptions Options(string keys, Func<string, string?>? environment = null) =>
        (GitLabIssuesOptions)GitLabConfigs.Source(Source(keys), environment).Options;

    [Fact]
    public void Bind_UrlAndProject_DefaultsToOpenedAnyLabelsWithoutToken()
    {
        var config = GitLabConfigs.Source(Source("url: https://gitlab.example.com\nproject: acme/shop"));

        var options = Assert.IsType<GitLabIssuesOptions>(config.Options);
        Assert.Equal("gitlab", config.Kind);
        Assert.Equal(new Uri("https://gitlab.example.com"), options.Url);
        Assert.Equal("acme/shop", options.Project);
        Assert.Empty(options.Labels);
        Assert.Equal("opened", options.State);
        Assert.Null(options.Token);
        Assert.Equal([GitLabSourceKind.Count], config.Signals);
    }

    [Fact]
    public void Bind_AllKeys_AreRead()
    {
        var options = Options(
            """
            url: https://gitlab.example.com/
            project: acme/platform/shop.web
            labels: [bug, "priority::high"]
            state: Closed
            token: ${GITLAB_TOKEN}
            """,
            name => name == "GITLAB_TOKEN" ? "glpat-abc123" : null);

        Assert.Equal("acme/platform/shop.web", options.Project);
        Assert.Equal(["bug", "priority::high"], options.Labels);
        Assert.Equal("closed", options.State);
        Assert.Equal("glpat-abc123", options.Token);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("acme/shop")]
    [InlineData("my_group/sub-group/my.project")]
    public void Bind_ProjectPathOrId_IsAccepted(string project)
    {
        Assert.Equal(project, Options($"url: https://gitlab.example.com\nproject: \"{project}\"").Project);
    }

    [Fact]
    public void Bind_SingleLabel_IsAListOfOne()
    {
        Assert.Equal(["bug"], Options("url: https://gitlab.example.com\nproject: acme/shop\nlabels: bug").Labels);
    }

    [Theory]
    [InlineData("https://gitlab.example.com", "acme/shop", new string[0], "opened",
        "https://gitlab.example.com/api/v4/projects/acme%2Fshop/issues_statistics?scope=all",
        "https://gitlab.example.com/api/v4/projects/acme%2Fshop/issues?scope=all&state=opened&per_page=1")]
    [InlineData("https://example.com/gitlab/", "acme/sub/shop", new[] { "bug", "priority::high", "help wanted" }, "all",
        "https://example.com/gitlab/api/v4/projects/acme%2Fsub%2Fshop/issues_statistics?scope=all&labels=bug,priority%3A%3Ahigh,help%20wanted",
        "https://example.com/gitlab/api/v4/projects/acme%2Fsub%2Fshop/issues?scope=all&per_page=1&labels=bug,priority%3A%3Ahigh,help%20wanted")]
    [InlineData("http://127.0.0.1:8080", "42", new[] { "a&b=c" }, "closed",
        "http://127.0.0.1:8080/api/v4/projects/42/issues_statistics?scope=all&labels=a%26b%3Dc",
        "http://127.0.0.1:8080/api/v4/projects/42/issues?scope=all&state=closed&per_page=1&labels=a%26b%3Dc")]
    public void Urls_ProjectAndLabels_AreEscaped(string url, string project, string[] labels, string state, string statistics, string issues)
    {
        var options = new GitLabIssuesOptions(new Uri(url), project, labels, state, null);

        Assert.Equal(statistics, options.StatisticsUrl.AbsoluteUri);
        Assert.Equal(issues, options.IssuesUrl.AbsoluteUri);
    }

    [Fact]
    public void ToString_WithToken_NeverPrintsIt()
    {
        const string canary = "glpat-CANARY0123456789";
        var config = GitLabConfigs.Source(
            Source("url: https://gitlab.example.com\nproject: acme/shop\ntoken: ${T}"),
            name => name == "T" ? canary : null);

        Assert.DoesNotContain(canary, config.ToString(), StringComparison.Ordinal);
        Assert.Contains("Token = (set)", config.Options.ToString(), StringComparison.Ordinal);
        Assert.Contains("Project = acme/shop", config.Options.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        {
            "project: acme/shop",
            ["test.yaml:3:5: sources[gl-bugs]: missing required key \"url\""]
        },
        {
            "url: https://gitlab.example.com",
            ["test.yaml:3:5: sources[gl-bugs]: missing required key \"project\""]
        },
        {
            "url: gitlab.example.com\nproject: acme/shop",
            ["test.yaml:5:10: sources[gl-bugs].url: bad URL \"gitlab.example.com\": expected an absolute http:// or https:// URL"]
        },
        {
            "url: https://gitlab.example.com/?private_token=x\nproject: acme/shop",
            ["test.yaml:5:10: sources[gl-bugs].url: bad URL \"https://gitlab.example.com/?private_token=x\": API paths are appended to it, so it must not have a query or fragment"]
        },
        {
            "url: https://gitlab.example.com\nproject: shop",
            ["test.yaml:6:14: sources[gl-bugs].project: bad project \"shop\": expected a path such as acme/shop or a numeric project id"]
        },
        {
            "url: https://gitlab.example.com\nproject: /acme/shop",
            ["test.yaml:6:14: sources[gl-bugs].project: bad project \"/acme/shop\": expected a path such as acme/shop or a numeric project id"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop/",
            ["test.yaml:6:14: sources[gl-bugs].project: bad project \"acme/shop/\": expected a path such as acme/shop or a numeric project id"]
        },
        {
            "url: https://gitlab.example.com\nproject: https://gitlab.example.com/acme/shop",
            ["test.yaml:6:14: sources[gl-bugs].project: bad project \"https://gitlab.example.com/acme/shop\": expected a path such as acme/shop or a numeric project id"]
        },
        {
            "url: https://gitlab.example.com\nproject: \"0\"",
            ["test.yaml:6:14: sources[gl-bugs].project: bad project \"0\": expected a path such as acme/shop or a numeric project id"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop\nstate: open",
            ["test.yaml:7:12: sources[gl-bugs].state: unknown value \"open\": expected one of opened, closed, all"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop\nlabels: bug,ui",
            ["test.yaml:7:13: sources[gl-bugs].labels: bad label \"bug,ui\": the API separates labels with commas; write a list, e.g. [bug, ui]"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop\nlabels: [bug, \" \"]",
            ["test.yaml:7:19: sources[gl-bugs].labels: a label must not be empty"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop\nlabels: {name: bug}",
            ["test.yaml:7:13: sources[gl-bugs].labels: expected a list, not a mapping"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop\ntoken: \"\"",
            ["test.yaml:7:12: sources[gl-bugs].token: must not be empty (leave the key out for anonymous requests)"]
        },
        {
            "url: https://gitlab.example.com\nproject: acme/shop\nquery: is:open",
            ["test.yaml:7:5: sources[gl-bugs].query: unknown key \"query\" (known keys here: cron, every, id, kind, labels, project, state, timeout, tls, token, tokenFile, url)"]
        },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bind_BadKey_ReportsTheExactError(string keys, string[] expected)
    {
        Assert.Equal(expected, GitLabConfigs.Errors(Source(keys)));
    }

    [Theory]
    [InlineData("glpat abc")]
    [InlineData("glpat-abc\r\n")]
    [InlineData("glpat-ü")]
    public void Bind_TokenNotFitForAHeader_ReportsAnErrorThatDoesNotQuoteIt(string token)
    {
        var errors = GitLabConfigs.Errors(Source("url: https://gitlab.example.com\nproject: acme/shop\ntoken: ${T}"), name => name == "T" ? token : null);

        Assert.Equal(["test.yaml:7:12: sources[gl-bugs].token: must be printable ASCII without spaces or line breaks (it is sent in an HTTP header)"], errors);
    }

    [Fact]
    public void Create_ValidConfig_MakesAGitLabSource()
    {
        var config = GitLabConfigs.Source(Source("url: https://gitlab.example.com\nproject: acme/shop"));

        var source = new GitLabSourceKind().Create(config, new SourceContext(TimeProvider.System, NullLoggerFactory.Instance));

        Assert.Same(config, Assert.IsType<GitLabSource>(source).Config);
    }
}
