using Microsoft.Data.Sqlite;
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

    public override IReadOnlyList<string> ChunkRows() => ChunkRows(_temp.DatabasePath);

    public override IReadOnlyList<string> HotRows() => HotRows(_temp.DatabasePath);

    /// <summary><see cref="CopyDestination.ChunkRows()"/> of any SQLite file (a copy's source too).</summary>
    public static IReadOnlyList<string> ChunkRows(string path)
    {
        using var c = Open(path);
        return ChunkRows(c);
    }

    /// <summary><see cref="CopyDestination.HotRows()"/> of any SQLite file (a copy's source too).</summary>
    public static IReadOnlyList<string> HotRows(string path)
    {
        using var c = Open(path);
        return HotRows(c);
    }

    private static SqliteConnection Open(string path)
    {
        var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        return c;
    }

    protected override void Dispose(bool disposing) => _temp.Dispose();
}

/// <summary>The copy tests with a SQLite destination.</summary>
public sealed class SqliteStorageCopierTests() : StorageCopierTests(new SqliteCopyDestination());
