using Microsoft.Data.Sqlite;

namespace Roadmap.Worker.Tests;

/// <summary>
/// A fresh folder for one test under the temp dir, deleted with its content on dispose. SQLite's pooled connections
/// are closed first: an idle pooled connection keeps the database file (and its -wal) open after the test.
/// </summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    /// <summary>The folder, e.g. /tmp/roadmap-worker-tests/0f3c....</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "roadmap-worker-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The path of <paramref name="name"/> in the folder (e.g. "roadmap.db").</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
