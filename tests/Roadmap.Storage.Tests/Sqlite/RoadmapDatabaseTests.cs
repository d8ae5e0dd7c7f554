using Dapper;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Tests.Sqlite;

public sealed class RoadmapDatabaseTests : IDisposable
{
    private readonly TempDatabase _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Open_NewPath_CreatesFolderFileAndSchemaInWalMode()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);

        Assert.True(File.Exists(_temp.DatabasePath));
        Assert.Equal(9, db.SchemaVersion);
        using var c = db.OpenConnection();
        Assert.Equal("wal", c.ExecuteScalar<string>("PRAGMA journal_mode;"));
        Assert.Equal(1, c.ExecuteScalar<int>("PRAGMA synchronous;")); // NORMAL
        var tables = c.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;").ToList();
        Assert.Equal(["baselines", "chunks", "evaluations", "polls", "rollups_day", "rollups_hour", "samples", "schema_version", "series", "update_deliveries"], tables);
    }

    [Fact]
    public void Open_Twice_KeepsDataAndAppliesNoStepAgain()
    {
        var first = RoadmapDatabase.Open(_temp.DatabasePath);
        using (var c = first.OpenConnection())
        {
            c.Execute("INSERT INTO polls (source, ts, duration_ms, outcome) VALUES ('a', 1, 2, 'success');");
        }

        var second = RoadmapDatabase.Open(_temp.DatabasePath);

        using var c2 = second.OpenConnection();
        Assert.Equal(1, c2.ExecuteScalar<long>("SELECT count(*) FROM polls;"));
        Assert.Equal(9, c2.ExecuteScalar<long>("SELECT count(*) FROM schema_version;"));
    }

    [Fact]
    public void Open_NewerSchemaThanKnown_FailsWithClearMessage()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        using (var c = db.OpenConnection())
        {
            c.Execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 0);");
        }

        var e = Assert.Throws<StorageException>(() => RoadmapDatabase.Open(_temp.DatabasePath));
        Assert.Contains("schema version 99", e.Message);
    }

    [Fact]
    public void Open_FileThatIsNotADatabase_FailsAndLeavesTheFileUntouched()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_temp.DatabasePath)!);
        var garbage = new byte[8192];
        new Random(42).NextBytes(garbage);
        File.WriteAllBytes(_temp.DatabasePath, garbage);

        var e = Assert.Throws<StorageException>(() => RoadmapDatabase.Open(_temp.DatabasePath));

        Assert.Contains(_temp.DatabasePath, e.Message);
        Assert.Equal(garbage, File.ReadAllBytes(_temp.DatabasePath));
    }
}
