using Roadmap.Sources.Sql;

namespace Roadmap.Sources.Tests.Sql;

public class SqlSourceKindTests
{
    // Line 3 of the loaded file is "  - id: db"; the connection string's value starts on line 6, column 23.
    private static string Source(string connectionString, string provider = "sqlite", string query = "SELECT 1") =>
        $"""
        - id: db
          kind: sql
          provider: {provider}
          connectionString: "{connectionString}"
          query: {query}
        """;

    [Fact]
    public void Bind_ValidSource_ReadsEveryKey()
    {
        var config = TestConfigs.Source(Source("Data Source=data/shop.db", "SQLite", "SELECT count(*) FROM orders"));

        var options = Assert.IsType<SqlQueryOptions>(config.Options);
        Assert.Equal(new SqlQueryOptions("sqlite", "Data Source=data/shop.db", "SELECT count(*) FROM orders"), options);
        Assert.Equal([SqlSourceKind.DurationSeconds, SqlSourceKind.Value], config.Signals);
    }

    [Theory]
    [InlineData("Data Source=x.db;Bogus=1", "bogus")]
    [InlineData("Data Source=x.db;Journal Mode=WAL", "journal mode")]
    [InlineData("Data Source=x.db;Version=3", "version")]
    public void Bind_UnknownConnectionStringKeyword_IsAConfigErrorNamingConnectionString(string connectionString, string keyword)
    {
        var error = Assert.Single(TestConfigs.Errors(Source(connectionString)));

        Assert.StartsWith("test.yaml:6:23: sources[db].connectionString: bad connection string: ", error);
        Assert.Contains($"keyword '{keyword}' is not supported", error);
    }

    [Fact]
    public void Bind_BadConnectionString_NeverQuotesThePassword()
    {
        var error = Assert.Single(TestConfigs.Errors(Source("Data Source=x.db;Password=hunter2;Bogus=1")));

        Assert.Contains("sources[db].connectionString", error);
        Assert.DoesNotContain("hunter2", error);
    }

    [Theory]
    [InlineData("Data Source=x.db;Mode=Sometimes")]
    [InlineData("Data Source=x.db;Pooling=maybe")]
    [InlineData("Data Source=x.db;Default Timeout=soon")]
    [InlineData("Data Source=x.db;Foreign Keys=perhaps")]
    public void Bind_BadConnectionStringValue_IsAConfigErrorNamingConnectionString(string connectionString)
    {
        var error = Assert.Single(TestConfigs.Errors(Source(connectionString)));

        Assert.StartsWith("test.yaml:6:23: sources[db].connectionString: bad connection string: ", error);
    }

    [Theory]
    [InlineData("provider: postgres", "test.yaml:5:15: sources[db].provider: unknown value \"postgres\": expected one of sqlite")]
    [InlineData("", "test.yaml:3:5: sources[db]: missing required key \"provider\"")]
    public void Bind_BadOrMissingProvider_ReportsTheExactError(string provider, string expected)
    {
        var errors = TestConfigs.Errors($"""
            - id: db
              kind: sql
              {provider}
              connectionString: Data Source=x.db
              query: SELECT 1
            """);

        Assert.Equal([expected], errors);
    }

    [Theory]
    [InlineData("connectionString")]
    [InlineData("query")]
    public void Bind_MissingRequiredKey_ReportsIt(string key)
    {
        var lines = new[] { "- id: db", "  kind: sql", "  provider: sqlite", "  connectionString: Data Source=x.db", "  query: SELECT 1" };

        var errors = TestConfigs.Errors(string.Join('\n', lines.Where(l => !l.TrimStart().StartsWith(key + ":", StringComparison.Ordinal))));

        Assert.Equal([$"test.yaml:3:5: sources[db]: missing required key \"{key}\""], errors);
    }
}
