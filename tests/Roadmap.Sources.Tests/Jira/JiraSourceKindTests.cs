using Roadmap.Sources.Jira;

namespace Roadmap.Sources.Tests.Jira;

public class JiraSourceKindTests
{
    private static readonly Func<string, string?> Environment = name => name switch
    {
        "JIRA_EMAIL" => "ops@acme.example",
        "JIRA_TOKEN" => "ATATT3xabc",
        _ => null,
    };

    // Line 3 of the loaded file is "  - id: incidents"; the lines of `keys` follow from line 5, values at column 5 + key length + 2.
    private static string Source(string keys) =>
        $"""
        - id: incidents
          kind: jira
        {string.Join('\n', keys.Split('\n').Select(l => "  " + l))}
        """;

    private static JiraSearchOptions Options(string keys, Func<string, string?>? environment = null) =>
        (JiraSearchOptions)JiraConfigs.Source(Source(keys), environment).Options;

    [Fact]
    public void Bind_UrlAndJql_DefaultsToCloudAnonymous()
    {
        var config = JiraConfigs.Source(Source("url: https://acme.atlassian.net\njql: project = SHOP"));

        var options = Assert.IsType<JiraSearchOptions>(config.Options);
        Assert.Equal("jira", config.Kind);
        Assert.Equal(new Uri("https://acme.atlassian.net"), options.Url);
        Assert.Equal("project = SHOP", options.Jql);
        Assert.Equal(JiraSearchOptions.Cloud, options.Edition);
        Assert.Null(options.Email);
        Assert.Null(options.Token);
        Assert.Equal([JiraSourceKind.Count], config.Signals);
    }

    [Fact]
    public void Bind_CloudWithEmailAndToken_ReadsBoth()
    {
        var options = Options("url: https://acme.atlassian.net\njql: project = SHOP\nemail: ${JIRA_EMAIL}\ntoken: ${JIRA_TOKEN}", Environment);

        Assert.Equal(JiraSearchOptions.Cloud, options.Edition);
        Assert.Equal("ops@acme.example", options.Email);
        Assert.Equal("ATATT3xabc", options.Token);
    }

    [Theory]
    [InlineData("datacenter")]
    [InlineData("DataCenter")]
    public void Bind_DataCenterWithToken_IsAPersonalAccessToken(string edition)
    {
        var options = Options($"url: https://jira.acme.example/jira\njql: project = SHOP\nedition: {edition}\ntoken: ${{JIRA_TOKEN}}", Environment);

        Assert.Equal(JiraSearchOptions.DataCenter, options.Edition);
        Assert.Null(options.Email);
        Assert.Equal("ATATT3xabc", options.Token);
    }

    [Theory]
    [InlineData("https://acme.atlassian.net", "project = SHOP AND status = \"In Progress\"",
        "https://acme.atlassian.net/rest/api/3/search/approximate-count",
        "https://acme.atlassian.net/rest/api/2/search?jql=project%20%3D%20SHOP%20AND%20status%20%3D%20%22In%20Progress%22&maxResults=0")]
    [InlineData("https://jira.acme.example/jira/", "labels in (a&b) ORDER BY key",
        "https://jira.acme.example/jira/rest/api/3/search/approximate-count",
        "https://jira.acme.example/jira/rest/api/2/search?jql=labels%20in%20%28a%26b%29%20ORDER%20BY%20key&maxResults=0")]
    public void Urls_BaseAndJql_AreJoinedAndEscaped(string url, string jql, string count, string search)
    {
        var options = new JiraSearchOptions(new Uri(url), jql, JiraSearchOptions.Cloud, null, null);

        Assert.Equal(count, options.ApproximateCountUrl.AbsoluteUri);
        Assert.Equal(search, options.SearchUrl.AbsoluteUri);
    }

    [Fact]
    public void ToString_WithToken_NeverPrintsIt()
    {
        const string canary = "ATATT3xCANARY0123456789";
        var config = JiraConfigs.Source(
            Source("url: https://acme.atlassian.net\njql: project = SHOP\nemail: ops@acme.example\ntoken: ${T}"),
            name => name == "T" ? canary : null);

        Assert.DoesNotContain(canary, config.ToString(), StringComparison.Ordinal);
        Assert.Contains("Token = (set)", config.Options.ToString(), StringComparison.Ordinal);
        Assert.Contains("Email = ops@acme.example", config.Options.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string[]> BadConfigs => new()
    {
        {
            "jql: project = SHOP",
            ["test.yaml:3:5: sources[incidents]: missing required key \"url\""]
        },
        {
            "url: https://acme.atlassian.net",
            ["test.yaml:3:5: sources[incidents]: missing required key \"jql\""]
        },
        {
            "url: acme.atlassian.net\njql: project = SHOP",
            ["test.yaml:5:10: sources[incidents].url: bad URL \"acme.atlassian.net\": expected an absolute http:// or https:// URL"]
        },
        {
            "url: https://acme.atlassian.net/jira/software#board\njql: project = SHOP",
            ["test.yaml:5:10: sources[incidents].url: bad URL \"https://acme.atlassian.net/jira/software#board\": API paths are appended to it, so it must not have a query or fragment"]
        },
        {
            "url: https://jira.acme.example\njql: project = SHOP\nedition: server",
            ["test.yaml:7:14: sources[incidents].edition: unknown value \"server\": expected one of cloud, datacenter"]
        },
        {
            "url: https://acme.atlassian.net\njql: project = SHOP\ntoken: ATATT3xabc",
            ["test.yaml:7:12: sources[incidents].token: Jira Cloud needs the account's email with an API token (basic auth); for a personal access token set edition: datacenter"]
        },
        {
            "url: https://acme.atlassian.net\njql: project = SHOP\nemail: ops@acme.example",
            ["test.yaml:7:12: sources[incidents].email: email is set but token is not: Jira Cloud takes the email with an API token (basic auth)"]
        },
        {
            "url: https://acme.atlassian.net\njql: project = SHOP\nemail: \"ops:x@acme.example\"\ntoken: ATATT3xabc",
            ["test.yaml:7:12: sources[incidents].email: must be an email address (no colon or line breaks)"]
        },
        {
            "url: https://jira.acme.example\njql: project = SHOP\nedition: datacenter\nemail: ops@acme.example\ntoken: abc",
            ["test.yaml:8:12: sources[incidents].email: Data Center authenticates with a personal access token alone (bearer): remove email"]
        },
        {
            "url: https://jira.acme.example\njql: project = SHOP\nedition: datacenter\ntoken: \"\"",
            ["test.yaml:8:12: sources[incidents].token: must not be empty (leave the key out for anonymous requests)"]
        },
        {
            "url: https://jira.acme.example\njql: project = SHOP\nproject: SHOP",
            ["test.yaml:7:5: sources[incidents].project: unknown key \"project\" (known keys here: cron, edition, email, every, id, jql, kind, timeout, tls, token, tokenFile, url)"]
        },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Bind_BadKey_ReportsTheExactError(string keys, string[] expected)
    {
        Assert.Equal(expected, JiraConfigs.Errors(Source(keys)));
    }

    [Theory]
    [InlineData("ATATT3x abc")]
    [InlineData("ATATT3xabc\n")]
    [InlineData("ATATT3x€")]
    public void Bind_TokenNotFitForAHeader_ReportsAnErrorThatDoesNotQuoteIt(string token)
    {
        var errors = JiraConfigs.Errors(Source("url: https://jira.acme.example\njql: project = SHOP\nedition: datacenter\ntoken: ${T}"), name => name == "T" ? token : null);

        Assert.Equal(["test.yaml:8:12: sources[incidents].token: must be printable ASCII without spaces or line breaks (it is sent in an HTTP header)"], errors);
    }

    [Fact]
    public void Create_ValidConfig_MakesAJiraSource()
    {
        var config = JiraConfigs.Source(Source("url: https://acme.atlassian.net\njql: project = SHOP"));

        var source = new JiraSourceKind().Create(config, new SourceContext(TimeProvider.System, NullLoggerFactory.Instance));

        Assert.Same(config, Assert.IsType<JiraSource>(source).Config);
    }
}
