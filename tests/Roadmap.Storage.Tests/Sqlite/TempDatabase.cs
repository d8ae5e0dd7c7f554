namespace Roadmap.Storage.Tests.Sqlite;

/// <summary>A real SQLite file in its own temp folder, deleted with the fixture.</summary>
public sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Folder = Path.Combine(Path.GetTempPath(), "roadmap-storage-tests", Guid.NewGuid().ToString("N"));
        DatabasePath = Path.Combine(Folder, "nested", "roadmap.db");
    }

    public string Folder { get; }

    public string DatabasePath { get; }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
