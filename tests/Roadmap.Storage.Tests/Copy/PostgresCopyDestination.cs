using Npgsql;
using Roadmap.Sources.Tests.Sql;
using Roadmap.Storage.Copy;
using Roadmap.Storage.Tests.Postgres;

namespace Roadmap.Storage.Tests.Copy;

/// <summary>A PostgreSQL database as the destination: a database of its own on the test class's real server.</summary>
public sealed class PostgresCopyDestination(PostgresServer server) : CopyDestination
{
    private readonly PostgresTestBackend _backend = new(server);

    public override IHistoryImport OpenImport(IHistoryExport source) => HistoryStores.OpenImport(_backend.Options(), source);

    public override IRoadmapStorage OpenStorage() => _backend.Open();

    public override IReadOnlyList<string> ChunkRows()
    {
        using var c = Open();
        return ChunkRows(c);
    }

    public override IReadOnlyList<string> HotRows()
    {
        using var c = Open();
        return HotRows(c);
    }

    private NpgsqlConnection Open()
    {
        var c = new NpgsqlConnection(_backend.ConnectionString + ";Pooling=false");
        c.Open();
        return c;
    }

    protected override void Dispose(bool disposing) => _backend.Dispose();
}

/// <summary>The copy tests with a PostgreSQL destination.</summary>
public sealed class PostgresStorageCopierTests(PostgresServer server) : StorageCopierTests(new PostgresCopyDestination(server)), IClassFixture<PostgresServer>;
