using Roadmap.Storage.Copy;
using Roadmap.Storage.Sqlite;
using Roadmap.Storage.Tests.Sqlite;

namespace Roadmap.Storage.Tests.Copy;

/// <summary>A SQLite file as the destination: a real file in a temp folder of its own.</summary>
public sealed class SqliteCopyDestination : CopyDestination
{
    private readonly TempDatabase _temp = new();

    public override IHistoryImport OpenImport(IHistoryExport source) =>
        HistoryStores.OpenImport(new StorageOptions { Path = _temp.DatabasePath }, source);

    public override IRoadmapStorage OpenStorage() => RoadmapDatabase.Open(_temp.DatabasePath);

    protected override void Dispose(bool disposing) => _temp.Dispose();
}

/// <summary>The copy tests with a SQLite destination.</summary>
public sealed class SqliteStorageCopierTests() : StorageCopierTests(new SqliteCopyDestination());
