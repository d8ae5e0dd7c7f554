using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Roadmap.Sources.Sql;

namespace Roadmap.Sources.Tests.Sql;

/// <summary>Against a real SQLite file in a temp dir (created per test, deleted after).</summary>
public sealed class SqlSourceTests : IDisposable
{
    // A hex name: it can never contain "mode" by chance.
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-sql-" + Guid.NewGuid().ToString("N"));
    private readonly string _database;

    public SqlSourceTests()
    {
        Directory.CreateDirectory(_dir);
        _database = Path.Combine(_dir, "shop.db");
        using var connection = new SqliteConnection($"Data Source={_database}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE t (x INTEGER, name TEXT);
            INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
            """;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Source(string connectionString, string query) =>
        $"""
        - id: db
          kind: sql
          timeout: 2s
          provider: sqlite
          connectionString: {Quote(connectionString)}
          query: {Quote(query)}
        """;

    private async Task<PollResult> PollOnceAsync(string query, string? connectionString = null)
    {
        await using var source = TestConfigs.Create(Source(connectionString ?? $"Data Source={_database}", query));
        return await source.PollAsync(CancellationToken.None);
    }

    private long Count()
    {
        using var connection = new SqliteConnection($"Data Source={_database}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM t";
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task PollAsync_CountOfThreeRows_SucceedsWithValueAndDuration()
    {
        var result = await PollOnceAsync("SELECT count(*) FROM t");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(3, result.Value(SqlSourceKind.Value));
        Assert.True(result.Value(SqlSourceKind.DurationSeconds) >= 0);
        Assert.Equal(2, result.Samples.Count);
    }

    [Theory]
    [InlineData("SELECT max(x) FROM t", 3)]
    [InlineData("SELECT x FROM t WHERE name = 'b'", 2)]
    [InlineData("SELECT avg(x) / 4.0 FROM t", 0.5)]
    [InlineData("SELECT -7", -7)]
    [InlineData("SELECT 0", 0)]
    public async Task PollAsync_OneNumber_IsTheValue(string query, double expected)
    {
        var result = await PollOnceAsync(query);

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value(SqlSourceKind.Value));
        Assert.NotNull(result.Value(SqlSourceKind.DurationSeconds));
    }

    [Theory]
    [InlineData("SELECT 'abc'")] // text
    [InlineData("SELECT name FROM t WHERE x = 1")] // text from a table
    [InlineData("SELECT x FROM t")] // several rows
    [InlineData("SELECT count(*), max(x) FROM t")] // several columns
    [InlineData("SELECT x FROM t WHERE x > 99")] // no row
    [InlineData("SELECT NULL")]
    [InlineData("SELECT x'00ff'")] // a blob
    public async Task PollAsync_ResultNotOneNumber_SucceedsWithOnlyDuration(string query)
    {
        var result = await PollOnceAsync(query);

        Assert.True(result.Success, result.Failure);
        var sample = Assert.Single(result.Samples);
        Assert.Equal(SqlSourceKind.DurationSeconds, sample.Signal);
        Assert.True(sample.Value >= 0);
    }

    [Theory]
    [InlineData("SELECT count(*) FROM missing", "no such table: missing")]
    [InlineData("SELEC 1", "syntax error")]
    [InlineData("SELECT nope FROM t", "no such column: nope")]
    public async Task PollAsync_BadQuery_FailsWithQueryFailed(string query, string detail)
    {
        var result = await PollOnceAsync(query);

        Assert.False(result.Success);
        Assert.StartsWith("query failed:", result.Failure);
        Assert.Contains(detail, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Theory]
    [InlineData("absent.db")]
    [InlineData("models.db")] // a path that merely contains "mode" is still read-only
    [InlineData("mode.db")]
    public async Task PollAsync_DefaultModeAndMissingFile_FailsWithoutCreatingIt(string file)
    {
        var path = Path.Combine(_dir, file);

        var result = await PollOnceAsync("SELECT 1", $"Data Source={path}");

        Assert.False(result.Success, "polling a missing database must fail");
        Assert.StartsWith("query failed:", result.Failure);
        Assert.False(File.Exists(path), $"{path} was created");
    }

    [Theory]
    [InlineData("DELETE FROM t")]
    [InlineData("INSERT INTO t VALUES (4, 'd')")]
    public async Task PollAsync_DefaultMode_CannotWrite(string query)
    {
        var result = await PollOnceAsync(query);

        Assert.False(result.Success);
        Assert.StartsWith("query failed:", result.Failure);
        Assert.Contains("readonly", result.Failure);
        Assert.Equal(3, Count());
    }

    [Fact]
    public async Task PollAsync_ExplicitMode_IsHonoured()
    {
        var path = Path.Combine(_dir, "scratch.db");

        var result = await PollOnceAsync("SELECT 42", $"Data Source={path};Mode=ReadWriteCreate");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(42, result.Value(SqlSourceKind.Value));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task PollAsync_TwoPolls_EachMeasuresAgain()
    {
        await using var source = TestConfigs.Create(Source($"Data Source={_database}", "SELECT count(*) FROM t"));

        var first = await source.PollAsync(CancellationToken.None);
        using (var connection = new SqliteConnection($"Data Source={_database}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO t VALUES (4, 'd')";
            command.ExecuteNonQuery();
        }

        var second = await source.PollAsync(CancellationToken.None);

        Assert.Equal(3, first.Value(SqlSourceKind.Value));
        Assert.Equal(4, second.Value(SqlSourceKind.Value));
    }

    [Fact]
    public async Task PollAsync_QuerySlowerThanTimeout_FailsWithTimeoutPromptly()
    {
        // Counts to 200 million in one sqlite3_step: about a minute of work on a 2-core build box that only an interrupt
        // can cut short. The bound sits far from both that and the 500 ms timeout, so it tells an interrupted query from
        // one run to the end, not a quiet machine from a busy one: with the test assembly's threads all busy, the timer
        // that interrupts fired 3 s late once in a CI run.
        const string slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) FROM c";
        await using var source = TestConfigs.Create($"""
            - id: db
              kind: sql
              timeout: 500ms
              provider: sqlite
              connectionString: {Quote($"Data Source={_database}")}
              query: {Quote(slow)}
            """);
        var clock = Stopwatch.StartNew();

        var result = await source.PollAsync(CancellationToken.None);

        clock.Stop();
        Assert.Equal("timeout after 500ms", result.Failure);
        Assert.Empty(result.Samples);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_CallerTokenAlreadyCancelled_Throws()
    {
        await using var source = TestConfigs.Create(Source($"Data Source={_database}", "SELECT count(*) FROM t"));
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }
}
