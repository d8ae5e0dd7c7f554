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
    [InlineData("Data Source=x.db;Mode=Sometimes", "bad value for keyword 'mode' (expected one of ReadWriteCreate, ReadWrite, ReadOnly, Memory)", "Sometimes")]
    [InlineData("Data Source=x.db;Pooling=maybe", "bad value for keyword 'pooling' (expected true or false)", "maybe")]
    [InlineData("Data Source=x.db;Default Timeout=soon", "bad value for keyword 'default timeout'", "soon")]
    [InlineData("Data Source=x.db;Foreign Keys=perhaps", "bad value for keyword 'foreign keys'", "perhaps")] // a bool? without a default: no hint
    public void Bind_BadConnectionStringValue_NamesTheKeywordButNotTheValue(string connectionString, string problem, string value)
    {
        var error = Assert.Single(TestConfigs.Errors(Source(connectionString)));

        Assert.Equal($"test.yaml:6:23: sources[db].connectionString: bad connection string: {problem}", error);
        Assert.DoesNotContain(value, error);
    }

    [Theory]
    [InlineData("Data Source=x.db;Mode=ReadWriteCreate", "keyword 'mode' must be ReadOnly: the sql source only reads")]
    [InlineData("Data Source=x.db;Mode=ReadWrite", "keyword 'mode' must be ReadOnly: the sql source only reads")]
    [InlineData("Data Source=x.db;Mode=Memory", "keyword 'mode' must be ReadOnly: the sql source only reads")]
    [InlineData("Data Source=x.db;Pooling=True", "keyword 'pooling' must be false: the sql source opens a fresh connection per poll")]
    public void Bind_SqliteWritableModeOrPooling_IsAConfigError(string connectionString, string problem)
    {
        var error = Assert.Single(TestConfigs.Errors(Source(connectionString)));

        Assert.Equal($"test.yaml:6:23: sources[db].connectionString: bad connection string: {problem}", error);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void Bind_ConnectionStringNotKeywordValuePairs_IsAConfigError(string provider)
    {
        var error = Assert.Single(TestConfigs.Errors(Source("just some words", provider)));

        Assert.StartsWith("test.yaml:6:23: sources[db].connectionString: bad connection string: Format of the initialization string", error);
    }

    [Fact]
    public void Bind_ValidPostgresSource_ReadsEveryKey()
    {
        const string connectionString = "Host=db.example.com;Port=5433;Database=shop;Username=roadmap;Password=pw;SSL Mode=Require;Timeout=3";

        var config = TestConfigs.Source(Source(connectionString, "postgres", "SELECT count(*) FROM orders"));

        Assert.Equal(new SqlQueryOptions("postgres", connectionString, "SELECT count(*) FROM orders"), config.Options);
        Assert.Equal([SqlSourceKind.DurationSeconds, SqlSourceKind.Value], config.Signals);
    }

    [Fact]
    public void Bind_PostgresPasswordFromEnvironment_IsExpandedIntoTheConnectionString()
    {
        var config = TestConfigs.Source(Source("Host=db;Username=roadmap;Password=${PGPASSWORD}", "postgres"), name => name == "PGPASSWORD" ? "from-env" : null);

        Assert.Equal("Host=db;Username=roadmap;Password=from-env", Assert.IsType<SqlQueryOptions>(config.Options).ConnectionString);
    }

    [Theory]
    [InlineData("Host=db;Bogus=1", "keyword 'bogus' is not supported")]
    [InlineData("Host=db;Port=abc", "bad value for keyword 'port'")]
    [InlineData("Host=db;Port=99999999999", "bad value for keyword 'port'")]
    [InlineData("Host=db;Timeout=-1", "bad value for keyword 'timeout'")]
    [InlineData("Host=db;Pooling=maybe", "bad value for keyword 'pooling' (expected true or false)")]
    [InlineData("Host=db;SSL Mode=Sometimes", "bad value for keyword 'ssl mode' (expected one of Disable, Allow, Prefer, Require, VerifyCA, VerifyFull)")]
    [InlineData("Database=shop;Username=roadmap", "keyword 'host' is required (the server's name or address, e.g. Host=db.example.com;Database=shop;Username=roadmap)")]
    [InlineData("Host=db;Multiplexing=true;Pooling=false", "Pooling must be on to use multiplexing")]
    [InlineData("Host=db:abc", "bad port in keyword 'host'")]
    public void Bind_BadPostgresConnectionString_IsAConfigErrorAtTheValue(string connectionString, string problem)
    {
        var errors = TestConfigs.Errors(Source(connectionString, "postgres"));

        Assert.Equal([$"test.yaml:6:23: sources[db].connectionString: bad connection string: {problem}"], errors);
    }

    [Theory]
    [InlineData("Host=db;Password=hunter2;Bogus=1")]
    [InlineData("Host=db;Password=hunter2;Port=hunter2")]
    [InlineData("Host=db;Password=hunter2;Timeout=hunter2")]
    [InlineData("Host=db;Password=hunter2;SSL Mode=hunter2")]
    [InlineData("Password=hunter2")]
    [InlineData("Host=hunter2:hunter2;Password=hunter2")]
    public void Bind_BadPostgresConnectionString_NeverQuotesAValue(string connectionString)
    {
        var error = Assert.Single(TestConfigs.Errors(Source(connectionString, "postgres")));

        Assert.StartsWith("test.yaml:6:23: sources[db].connectionString: bad connection string: ", error);
        Assert.DoesNotContain("hunter2", error);
    }

    [Fact]
    public void Bind_SqliteConnectionStringForPostgres_IsAConfigError()
    {
        var error = Assert.Single(TestConfigs.Errors(Source("Data Source=data/shop.db", "postgres")));

        Assert.Equal("test.yaml:6:23: sources[db].connectionString: bad connection string: keyword 'data source' is not supported", error);
    }

    [Theory]
    [InlineData("provider: mysql", "test.yaml:5:15: sources[db].provider: unknown value \"mysql\": expected one of sqlite, postgres")]
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

    [Fact]
    public void Bind_TlsOnSqlite_IsAConfigErrorAtTls()
    {
        var error = Assert.Single(TestConfigs.Errors(Source("Data Source=x.db") + "\n  tls: { insecureSkipVerify: false }"));

        Assert.EndsWith("sources[db].tls: tls is for provider postgres; sqlite opens a local file", error);
    }

    [Theory]
    [InlineData("SslMode=VerifyFull", "SSL Mode")]
    [InlineData("Root Certificate=/etc/ca.pem", "Root Certificate")]
    [InlineData("SSL Key=/etc/key.pem;SSL Certificate=/etc/cert.pem", "SSL Certificate, SSL Key")]
    public void Bind_TlsAndTlsKeywordsInThePostgresString_IsAConfigErrorNamingTheKeywords(string keywords, string named)
    {
        var error = Assert.Single(TestConfigs.Errors(Source($"Host=db;{keywords}", "postgres") + "\n  tls: { serverName: db }"));

        Assert.EndsWith($"sources[db].tls: set TLS either in tls or in the connection string ({named}), not both", error);
    }

    [Fact]
    public void Bind_TlsWithPostgres_ReadsTheBlock()
    {
        var config = TestConfigs.Source(Source("Host=db", "postgres") + "\n  tls: { serverName: db.internal, minVersion: TLS13 }");

        var tls = Assert.IsType<SqlQueryOptions>(config.Options).Tls;
        Assert.Equal("db.internal", tls!.ServerName);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, tls.MinVersion);
    }
}
