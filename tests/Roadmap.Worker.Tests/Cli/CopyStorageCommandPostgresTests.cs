using System.Net;
using System.Net.Sockets;
using Npgsql;
using Roadmap.Sources.Tests.Sql;
using Roadmap.Storage;
using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Cli;

/// <summary>The copy-storage verb into a real PostgreSQL server (one per class, a database of its own per test).</summary>
public sealed class CopyStorageCommandPostgresTests : IClassFixture<PostgresServer>, IDisposable
{
    private static readonly DateTimeOffset T0 = CopyStorageCommandTests.T0;
    private readonly TempFolder _temp = new();
    private readonly PostgresServer _server;
    private readonly string _database = "copy_" + Guid.NewGuid().ToString("N");

    public CopyStorageCommandPostgresTests(PostgresServer server)
    {
        _server = server;
        Admin($"CREATE DATABASE {_database};");
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        Admin($"DROP DATABASE IF EXISTS {_database} WITH (FORCE);");
        _temp.Dispose();
    }

    [Fact]
    public async Task RunAsync_ToPostgresWithTheConnectionStringInAFile_ExitsZeroVerifiedAndNeverPrintsTheSecret()
    {
        var source = await CopyStorageCommandTests.WriteSource(_temp, "source.db", 1);
        var file = _temp.File("connection.txt");
        await File.WriteAllTextAsync(file, ConnectionString(PostgresServer.Password) + "\n");

        var (code, stdout, stderr) = await CopyStorageCommandTests.Run(["--from", source, "--to", "postgres", "--to-connection-string-file", file], environment: _ => null);

        Assert.True(code == RoadmapCli.Ok, stderr);
        Assert.Contains("verified: every table's row count and every stream's checksum match", stdout);
        Assert.Matches(@"samples\s+2,000\s+2,000\s+2,000", stdout);
        Assert.DoesNotContain(PostgresServer.Password, stdout + stderr);
        // What the service reads from the copy is what it read from the file.
        var a = StorageBackends.Open(new StorageOptions { Path = source });
        var storage = StorageBackends.Open(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = ConnectionString(PostgresServer.Password) });
        using var close = (IDisposable)storage;
        Assert.Equal(a.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)), storage.Samples.Read("web", "latency_seconds", T0, T0.AddDays(1)));
        Assert.Equal(a.Samples.Polls("web", T0, T0.AddDays(1)), storage.Samples.Polls("web", T0, T0.AddDays(1)));
    }

    [Fact]
    public async Task RunAsync_ToPostgresWithAWrongPassword_ExitsOneSaysTheLoginWasRefusedAndNeverPrintsThePassword()
    {
        var source = await CopyStorageCommandTests.WriteSource(_temp, "source.db", 1);
        const string Wrong = "wrong-Secret-42";

        var (code, stdout, stderr) = await CopyStorageCommandTests.Run(
            ["--from", source, "--to", "postgres"],
            environment: name => name == CopyStorageCommand.ConnectionStringVariable ? ConnectionString(Wrong) : null);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: PostgreSQL at postgresql://{PostgresServer.User}@127.0.0.1:", stderr);
        Assert.Contains("refused the login", stderr);
        Assert.DoesNotContain(Wrong, stdout + stderr);
    }

    [Fact]
    public async Task RunAsync_ToAPostgresNobodyListensOn_ExitsOneSaysItCannotConnectAndNeverPrintsThePassword()
    {
        var source = await CopyStorageCommandTests.WriteSource(_temp, "source.db", 1);
        // A loopback port that was free a moment ago: nothing accepts there.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var file = _temp.File("connection.txt");
        await File.WriteAllTextAsync(file, $"Host=127.0.0.1;Port={port};Database=roadmap;Username=roadmap;Password={PostgresServer.Password};Timeout=5");

        var (code, stdout, stderr) = await CopyStorageCommandTests.Run(["--from", source, "--to", "postgres", "--to-connection-string-file", file], environment: _ => null);

        Assert.Equal(RoadmapCli.RuntimeFailure, code);
        Assert.Contains($"error: cannot connect to PostgreSQL at postgresql://roadmap@127.0.0.1:{port}/roadmap", stderr);
        Assert.DoesNotContain(PostgresServer.Password, stdout + stderr);
    }

    private string ConnectionString(string password) =>
        _server.ConnectionString(password).Replace($"Database={PostgresServer.Database}", $"Database={_database}", StringComparison.Ordinal);

    private void Admin(string sql)
    {
        using var c = new NpgsqlConnection(_server.ConnectionString(extra: "Pooling=false"));
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }
}
