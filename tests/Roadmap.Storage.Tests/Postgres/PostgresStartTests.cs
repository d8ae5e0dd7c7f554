using Roadmap.Sources.Tests.Sql;
using Roadmap.Storage.Postgres;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>
/// Opening a PostgreSQL store: an empty database is initialised once however many processes start at once; a server
/// that is not there, a refused login, a database that is not Roadmap's and a schema newer than this binary are each a
/// clear error that never quotes the secret, and leave the database exactly as it was.
/// </summary>
public sealed class PostgresStartTests(PostgresServer server) : IClassFixture<PostgresServer>, IDisposable
{
    private readonly PostgresTestBackend _backend = new(server);

    public void Dispose() => _backend.Dispose();

    [Fact]
    public void Open_EmptyDatabase_CreatesTheSchemaAndMarksItAsRoadmaps()
    {
        var storage = _backend.Open();

        Assert.Equal(4, storage.SchemaVersion);
        Assert.Equal("roadmap", _backend.Scalar<string>("SELECT application FROM roadmap_schema WHERE version = 1;"));
        Assert.DoesNotContain(PostgresServer.Password, storage.Location, StringComparison.Ordinal);
        Assert.Contains(_backend.Database, storage.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SizeBytes_AfterOpen_ReportsTheDatabaseSizeWithoutWaitingForIt()
    {
        var storage = _backend.Open();
        var expected = _backend.Scalar<long>("SELECT pg_database_size(current_database());");

        var size = storage.SizeBytes(); // read in the background: 0 until the first read is done
        for (var waited = 0; size == 0 && waited < 3000; waited++)
        {
            await Task.Delay(10);
            size = storage.SizeBytes();
        }

        Assert.InRange(size, expected / 2, expected * 2);
    }

    [Fact]
    public async Task Open_ManyProcessesAtOnceOnAnEmptyDatabase_MigrateOnceAndAllOpen()
    {
        // Separate data sources (pools) as separate processes would have; started together.
        using var start = new ManualResetEventSlim();
        var opens = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.Wait();
            return _backend.Open().SchemaVersion;
        })).ToList();
        start.Set();

        var versions = await Task.WhenAll(opens);

        Assert.All(versions, v => Assert.Equal(4, v));
        Assert.Equal(4, _backend.Count("roadmap_schema"));
    }

    [Fact]
    public void Open_NothingListening_FailsUnreachableWithoutTheSecret()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var connectionString = $"Host=127.0.0.1;Port={port};Database=roadmap;Username=roadmap;Password={PostgresServer.Password};Timeout=5";

        var e = Assert.Throws<StorageException>(() => StorageBackends.Open(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = connectionString }));

        Assert.Equal(StorageHealth.Unreachable, e.Health);
        Assert.StartsWith($"cannot connect to PostgreSQL at postgresql://roadmap@127.0.0.1:{port}/roadmap", e.Message, StringComparison.Ordinal);
        AssertNoSecret(e, connectionString);
    }

    [Fact]
    public void Open_WrongPassword_FailsLoginRefusedWithoutEitherPasswordAndChangesNothing()
    {
        const string wrong = "not-the-Password-3";
        var connectionString = _backend.ConnectionString.Replace(PostgresServer.Password, wrong, StringComparison.Ordinal);
        var before = _backend.Snapshot();

        var e = Assert.Throws<StorageException>(() => StorageBackends.Open(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = connectionString }));

        Assert.Contains("refused the login", e.Message, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", e.Message, StringComparison.Ordinal);
        Assert.Equal(StorageHealth.Failing, e.Health);
        AssertNoSecret(e, connectionString);
        Assert.DoesNotContain(wrong, e.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, _backend.Snapshot());
        Assert.Empty(before);
    }

    [Fact]
    public void Open_DatabaseWithOtherTablesAndNoRoadmapMark_IsRefusedAndLeftAsItWas()
    {
        _backend.Execute("CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'ada'); CREATE TABLE orders (id int);");
        var before = _backend.Snapshot();

        var e = Assert.Throws<StorageException>(() => _backend.Open());

        Assert.Contains("is not Roadmap's", e.Message, StringComparison.Ordinal);
        Assert.Contains("customers, orders", e.Message, StringComparison.Ordinal);
        AssertNoSecret(e, _backend.ConnectionString);
        Assert.Equal(before, _backend.Snapshot());
    }

    [Fact]
    public void Open_RoadmapSchemaTableWithoutTheMark_IsRefusedAndLeftAsItWas()
    {
        _backend.Execute("CREATE TABLE roadmap_schema (version integer PRIMARY KEY, applied_at bigint NOT NULL, application text NOT NULL); INSERT INTO roadmap_schema VALUES (1, 0, 'someone-else');");
        var before = _backend.Snapshot();

        var e = Assert.Throws<StorageException>(() => _backend.Open());

        Assert.Contains("is not Roadmap's", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, _backend.Snapshot());
    }

    [Fact]
    public void Open_SchemaVersionNewerThanTheBinary_IsRefusedAndLeftAsItWas()
    {
        _backend.Open();
        _backend.Execute("INSERT INTO roadmap_schema (version, applied_at) VALUES (99, 0);");
        var before = _backend.Snapshot();

        var e = Assert.Throws<StorageException>(() => _backend.Open());

        Assert.Contains("schema version 99, newer than this Roadmap knows (4)", e.Message, StringComparison.Ordinal);
        AssertNoSecret(e, _backend.ConnectionString);
        Assert.Equal(before, _backend.Snapshot());
    }

    [Fact]
    public void Open_MissingOrUnparsableConnectionString_FailsWithoutQuotingIt()
    {
        var none = Assert.Throws<StorageException>(() => StorageBackends.Open(new StorageOptions { Kind = StorageKind.Postgres }));
        Assert.Contains("needs a connection string", none.Message, StringComparison.Ordinal);

        const string broken = "Host=127.0.0.1;Password=s3cret-Value;Port=notanumber";
        var e = Assert.Throws<StorageException>(() => StorageBackends.Open(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = broken }));
        Assert.Contains("connection string is not valid", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-Value", e.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Neither the message nor anything chained to it quotes the password or the connection string.</summary>
    private static void AssertNoSecret(StorageException e, string connectionString)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            Assert.DoesNotContain(PostgresServer.Password, x.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(connectionString, x.Message, StringComparison.Ordinal);
        }
    }
}
