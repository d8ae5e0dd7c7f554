using Roadmap.Sources.Sql;

namespace Roadmap.Sources.Tests.Sql;

/// <summary>provider: postgres against a real PostgreSQL server (one per class, see <see cref="PostgresServer"/>).</summary>
public sealed class PostgresSourceTests : IClassFixture<PostgresServer>, IAsyncLifetime
{
    private readonly PostgresServer _server;

    // Each test gets its own table, so tests that change rows never meet.
    private readonly string _table = "orders_" + Guid.NewGuid().ToString("N")[..12];

    public PostgresSourceTests(PostgresServer server) => _server = server;

    public async Task InitializeAsync()
    {
        await _server.ScalarAsync($"CREATE TABLE {_table} (id integer, total numeric(10, 2), note text)");
        await _server.ScalarAsync($"INSERT INTO {_table} VALUES (1, 10.50, 'a'), (2, 20.25, 'b'), (3, 30.00, 'c')");
    }

    public async Task DisposeAsync() => await _server.ScalarAsync($"DROP TABLE {_table}");

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Source(string connectionString, string query, string timeout = "5s") =>
        $"""
        - id: db
          kind: sql
          timeout: {timeout}
          provider: postgres
          connectionString: {Quote(connectionString)}
          query: {Quote(query)}
        """;

    private async Task<PollResult> PollOnceAsync(string query, string? connectionString = null, string timeout = "5s")
    {
        await using var source = TestConfigs.Create(Source(connectionString ?? _server.ConnectionString(), query, timeout));
        return await source.PollAsync(CancellationToken.None);
    }

    private async Task<long> ConnectionsNamedAsync(string applicationName) =>
        (long)(await _server.ScalarAsync($"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{applicationName}'"))!;

    /// <summary>A backend goes away a moment after its client leaves: wait for the count, up to 5 s.</summary>
    private async Task<long> ConnectionsSettleAtAsync(string applicationName, long expected)
    {
        var clock = Stopwatch.StartNew();
        long count;
        while ((count = await ConnectionsNamedAsync(applicationName)) != expected && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        return count;
    }

    [Fact]
    public async Task PollAsync_CountOfThreeRows_SucceedsWithValueAndDuration()
    {
        var result = await PollOnceAsync($"SELECT count(*) FROM {_table}");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(3, result.Value(SqlSourceKind.Value));
        Assert.InRange(result.Value(SqlSourceKind.DurationSeconds)!.Value, 0, result.Duration.TotalSeconds);
        Assert.Equal(2, result.Samples.Count);
    }

    [Theory]
    [InlineData("SELECT max(id) FROM {t}", 3)] // integer
    [InlineData("SELECT sum(total) FROM {t}", 60.75)] // numeric
    [InlineData("SELECT avg(id) FROM {t}", 2)] // numeric from avg
    [InlineData("SELECT 0.5::float8", 0.5)]
    [InlineData("SELECT 0.25::real", 0.25)]
    [InlineData("SELECT -7::smallint", -7)]
    [InlineData("SELECT 9007199254740993::bigint", 9007199254740992)] // nearest double
    [InlineData("SELECT extract(epoch FROM interval '90 seconds')", 90)]
    [InlineData("SELECT '42'", 42)] // text that is a number
    public async Task PollAsync_OneNumber_IsTheValue(string query, double expected)
    {
        var result = await PollOnceAsync(query.Replace("{t}", _table));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value(SqlSourceKind.Value));
        Assert.NotNull(result.Value(SqlSourceKind.DurationSeconds));
    }

    [Theory]
    [InlineData("SELECT note FROM {t} WHERE id = 1")] // text
    [InlineData("SELECT id FROM {t}")] // several rows
    [InlineData("SELECT count(*), max(id) FROM {t}")] // several columns
    [InlineData("SELECT id FROM {t} WHERE id > 99")] // no row
    [InlineData("SELECT NULL::integer")]
    [InlineData("SELECT true")]
    [InlineData("SELECT now()")]
    [InlineData("SELECT 'NaN'::numeric")] // Npgsql cannot read it as a decimal
    [InlineData("SELECT 1e100::numeric")] // nor this
    [InlineData("SELECT 'NaN'::float8")]
    [InlineData("SELECT 'Infinity'::float8")]
    [InlineData("SELECT pg_sleep(0)")] // void
    [InlineData("UPDATE {t} SET note = note WHERE id = 1")] // no result set
    public async Task PollAsync_ResultNotOneFiniteNumber_SucceedsWithOnlyDuration(string query)
    {
        var result = await PollOnceAsync(query.Replace("{t}", _table));

        Assert.True(result.Success, result.Failure);
        var sample = Assert.Single(result.Samples);
        Assert.Equal(SqlSourceKind.DurationSeconds, sample.Signal);
        Assert.True(sample.Value >= 0);
    }

    [Fact]
    public async Task PollAsync_TwoPolls_EachMeasuresAgain()
    {
        await using var source = TestConfigs.Create(Source(_server.ConnectionString(), $"SELECT count(*) FROM {_table}"));

        var first = await source.PollAsync(CancellationToken.None);
        await _server.ScalarAsync($"INSERT INTO {_table} VALUES (4, 1, 'd')");
        var second = await source.PollAsync(CancellationToken.None);

        Assert.Equal(3, first.Value(SqlSourceKind.Value));
        Assert.Equal(4, second.Value(SqlSourceKind.Value));
    }

    [Fact]
    public async Task PollAsync_QuerySlowerThanTimeout_FailsWithTimeoutPromptlyAndStopsTheQuery()
    {
        var marker = "roadmap-timeout-" + Guid.NewGuid().ToString("N");
        var clock = Stopwatch.StartNew();

        var result = await PollOnceAsync($"SELECT pg_sleep(30) /* {marker} */", timeout: "500ms");

        clock.Stop();
        Assert.Equal("timeout after 500ms", result.Failure);
        Assert.Empty(result.Samples);
        // Far from the 30 s sleep: a prompt cancel, whatever a busy CI machine does to the 500 ms timer.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the poll took {clock.Elapsed}");
        // The server must not go on sleeping for the rest of the 10 s: the query was cancelled there too.
        var running = await _server.ScalarAsync(
            $"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%/* {marker} */%' AND pid <> pg_backend_pid()");
        Assert.Equal(0L, running);
    }

    [Theory]
    [InlineData("SELEC 1", "query failed: 42601: syntax error at or near \"SELEC\"")]
    [InlineData("SELECT count(*) FROM missing_table", "query failed: 42P01: relation \"missing_table\" does not exist")]
    [InlineData("SELECT 1 / 0", "query failed: 22012: division by zero")]
    public async Task PollAsync_BadQuery_FailsWithQueryFailed(string query, string expected)
    {
        var result = await PollOnceAsync(query);

        Assert.Equal(expected, result.Failure);
        Assert.Empty(result.Samples);
        Assert.DoesNotContain(PostgresServer.Password, result.Failure);
    }

    [Fact]
    public async Task PollAsync_WrongPassword_FailsWithAuthenticationFailedAndNeitherPassword()
    {
        const string wrong = "not-the-Password-9";

        var result = await PollOnceAsync("SELECT 1", _server.ConnectionString(password: wrong));

        Assert.Equal($"authentication failed: password authentication failed for user \"{PostgresServer.User}\"", result.Failure);
        Assert.Empty(result.Samples);
        Assert.DoesNotContain(wrong, result.Failure);
        Assert.DoesNotContain(PostgresServer.Password, result.Failure);
    }

    [Fact]
    public async Task PollAsync_UnknownDatabase_FailsWithQueryFailed()
    {
        var connectionString = _server.ConnectionString().Replace($"Database={PostgresServer.Database}", "Database=no_such_db");

        var result = await PollOnceAsync("SELECT 1", connectionString);

        Assert.Equal("query failed: 3D000: database \"no_such_db\" does not exist", result.Failure);
    }

    [Fact]
    public async Task PollAsync_NothingListening_FailsWithConnectionRefused()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var clock = Stopwatch.StartNew();

        var result = await PollOnceAsync("SELECT 1", $"Host=127.0.0.1;Port={port};Username=roadmap;Password=hunter2");

        Assert.Equal("connection refused", result.Failure);
        Assert.Empty(result.Samples);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_ServerNeverAnswersTheHandshake_FailsWithTimeoutPromptly()
    {
        // The kernel completes the TCP handshake for a listener that never accepts, and nothing ever answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var clock = Stopwatch.StartNew();

        var result = await PollOnceAsync("SELECT 1", $"Host=127.0.0.1;Port={port};Username=roadmap;Password=hunter2", timeout: "500ms");

        clock.Stop();
        Assert.Equal("timeout after 500ms", result.Failure);
        // Below Npgsql's own 15 s connect timeout, which would apply if the source's were not passed on, with room for a
        // busy CI machine: the 500 ms timer fired 4 s late once, with the test assembly's threads all busy.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task PollAsync_DefaultPooling_LeavesNoConnectionOpenBetweenPolls()
    {
        var name = "roadmap-fresh-" + Guid.NewGuid().ToString("N")[..8];
        await using var source = TestConfigs.Create(Source(_server.ConnectionString(extra: $"Application Name={name}"), "SELECT 1"));

        var result = await source.PollAsync(CancellationToken.None);

        Assert.True(result.Success, result.Failure);
        Assert.Equal(0, await ConnectionsSettleAtAsync(name, 0));
    }

    [Fact]
    public async Task PollAsync_PoolingNamed_KeepsItsConnectionUntilTheSourceIsDisposed()
    {
        var name = "roadmap-pooled-" + Guid.NewGuid().ToString("N")[..8];
        var source = TestConfigs.Create(Source(_server.ConnectionString(extra: $"Pooling=true;Application Name={name}"), "SELECT 1"));

        var first = await source.PollAsync(CancellationToken.None);
        var second = await source.PollAsync(CancellationToken.None);
        var whileOpen = await ConnectionsNamedAsync(name);
        await source.DisposeAsync();

        Assert.True(first.Success && second.Success, first.Failure ?? second.Failure);
        Assert.Equal(1, whileOpen);
        Assert.Equal(0, await ConnectionsSettleAtAsync(name, 0));
    }

    [Fact]
    public async Task PollAsync_CallerTokenAlreadyCancelled_Throws()
    {
        await using var source = TestConfigs.Create(Source(_server.ConnectionString(), "SELECT 1"));
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));
    }

    [Fact]
    public async Task PollAsync_CallerCancelsDuringQuery_ThrowsRatherThanReportingATimeout()
    {
        await using var source = TestConfigs.Create(Source(_server.ConnectionString(), "SELECT pg_sleep(30)"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.PollAsync(cancel.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public void ToString_OfOptionsAndConfig_NeverPrintsThePassword()
    {
        var config = TestConfigs.Source(Source(_server.ConnectionString(), "SELECT 1"));

        var options = config.Options.ToString()!;
        var whole = config.ToString();

        Assert.Equal("SqlQueryOptions { Provider = postgres, ConnectionString = (hidden), Query = SELECT 1 }", options);
        Assert.Contains(options, whole, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.Password, whole, StringComparison.Ordinal);
    }
}
