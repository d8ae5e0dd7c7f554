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
        using var connection = Open();
        Execute(connection, """
            CREATE TABLE t (x INTEGER, name TEXT);
            INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
            """);
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

    /// <summary>A connection of the test's own, unpooled: it holds nothing once disposed.</summary>
    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={_database};Pooling=False");
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private long Count() => (long)Scalar("SELECT count(*) FROM t")!;

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
    [InlineData("WITH big AS (SELECT x FROM t WHERE x > 1) SELECT sum(x) * count(*) FROM big", 10)] // a CTE and aggregates
    [InlineData("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT max(n) FROM c", 10)]
    [InlineData("SELECT json_extract('{\"a\": 5}', '$.a')", 5)]
    [InlineData("SELECT page_count * page_size > 0 FROM pragma_page_count, pragma_page_size", 1)] // a readable pragma
    [InlineData("PRAGMA user_version", 0)]
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
    [InlineData("DELETE FROM t", "DELETE")]
    [InlineData("INSERT INTO t VALUES (4, 'd')", "INSERT")]
    [InlineData("UPDATE t SET x = 9", "UPDATE")]
    [InlineData("CREATE TABLE u (y)", "INSERT")] // a new table is a row inserted into sqlite_master
    [InlineData("CREATE TEMP TABLE u (y)", "INSERT")] // a read-only file still takes temp tables: the authorizer does not
    [InlineData("DROP TABLE t", "DELETE")]
    [InlineData("PRAGMA user_version = 7", "PRAGMA user_version")]
    [InlineData("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode")]
    [InlineData("PRAGMA hard_heap_limit = 1", "PRAGMA hard_heap_limit")] // process-wide: it would starve Roadmap's own database
    [InlineData("SELECT load_extension('/tmp/x')", "load_extension()")]
    public async Task PollAsync_StatementThatWrites_FailsSayingTheSourceOnlyReads(string query, string refused)
    {
        var result = await PollOnceAsync(query);

        Assert.Equal($"query failed: the sql source only reads: {refused} is not allowed", result.Failure);
        Assert.Empty(result.Samples);
        Assert.Equal(3, Count());
        Assert.Equal(0L, Scalar("PRAGMA user_version"));
        Assert.Equal("t", Scalar("SELECT group_concat(name) FROM sqlite_master"));
    }

    [Fact]
    public async Task PollAsync_VacuumInto_FailsAndCreatesNoFile()
    {
        var target = Path.Combine(_dir, "copy.db");

        var result = await PollOnceAsync($"VACUUM INTO '{target}'");

        Assert.False(File.Exists(target), $"{target} was created");
        Assert.Equal("query failed: the sql source only reads: ATTACH, DETACH or VACUUM is not allowed", result.Failure);
    }

    [Theory]
    [InlineData("new.db")] // a file that does not exist: it must not be created
    [InlineData("shop.db")] // an existing one: attached, it would stay on a pooled connection for later polls
    public async Task PollAsync_Attach_FailsAndCreatesNoFile(string file)
    {
        var path = Path.Combine(_dir, file);
        var existed = File.Exists(path);

        var result = await PollOnceAsync($"ATTACH '{path}' AS other");

        Assert.Equal("query failed: the sql source only reads: ATTACH, DETACH or VACUUM is not allowed", result.Failure);
        Assert.Equal(existed, File.Exists(path));
    }

    [Fact]
    public async Task PollAsync_BeginInAQuery_LeavesNoTransactionBehind()
    {
        // Before: the BEGIN stayed open on the pooled connection, so every later poll of the source failed ("cannot
        // start a transaction within a transaction") and its read snapshot kept any checkpoint of the file from ending.
        using (var wal = Open())
        {
            Execute(wal, "PRAGMA journal_mode = WAL");
        }

        await using var source = TestConfigs.Create(Source($"Data Source={_database}", "BEGIN; SELECT count(*) FROM t"));

        var first = await source.PollAsync(CancellationToken.None);
        using var writer = Open();
        Execute(writer, "INSERT INTO t VALUES (4, 'd')");
        using var checkpoint = writer.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        using var reader = checkpoint.ExecuteReader();
        Assert.True(reader.Read());
        var busy = reader.GetInt64(0);
        var second = await source.PollAsync(CancellationToken.None);
        var other = await PollOnceAsync("SELECT count(*) FROM t");

        const string refused = "query failed: the sql source only reads: a transaction (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) is not allowed";
        Assert.Equal(0, busy);
        Assert.Equal(refused, second.Failure);
        Assert.Equal(refused, first.Failure);
        Assert.True(other.Success, other.Failure);
        Assert.Equal(4, other.Value(SqlSourceKind.Value));
    }

    [Fact]
    public async Task PollAsync_AfterThePoll_NothingHoldsTheFileOpen()
    {
        // A pooled connection would stay open between polls, with whatever a query left on it.
        await using var source = TestConfigs.Create(Source($"Data Source={_database}", "SELECT count(*) FROM t"));

        var result = await source.PollAsync(CancellationToken.None);

        Assert.True(result.Success, result.Failure);
        var open = new DirectoryInfo("/proc/self/fd").GetFiles()
            .Select(fd => fd.LinkTarget)
            .Where(target => target is not null && target.StartsWith(_database, StringComparison.Ordinal))
            .ToList();
        Assert.Empty(open);
    }

    [Fact]
    public async Task PollAsync_TwoPolls_EachMeasuresAgain()
    {
        await using var source = TestConfigs.Create(Source($"Data Source={_database}", "SELECT count(*) FROM t"));

        var first = await source.PollAsync(CancellationToken.None);
        using (var connection = Open())
        {
            Execute(connection, "INSERT INTO t VALUES (4, 'd')");
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
