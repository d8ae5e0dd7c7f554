using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Tests.Sqlite;

/// <summary>
/// The database file deleted, replaced or its folder swapped under a running writer. SQLite itself goes on committing
/// into the unlinked inode, so without these checks every later sample vanished with it while the writer read healthy.
/// </summary>
public sealed class DatabaseFileLossTests : IDisposable
{
    private static readonly DateTimeOffset T0 = TestClock.RecentMidnight;
    private readonly TempDatabase _temp = new();

    public void Dispose() => _temp.Dispose();

    private static BatchedWriter NewWriter(RoadmapDatabase db) => new(
        db,
        new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(20), RetryDelay = TimeSpan.FromMilliseconds(20), MaxRetryDelay = TimeSpan.FromMilliseconds(100) },
        TimeProvider.System,
        NullLogger<BatchedWriter>.Instance);

    /// <summary>A running writer that has committed polls 0 to <paramref name="count"/> - 1.</summary>
    private async Task<(RoadmapDatabase Db, BatchedWriter Writer)> StartWithPollsAsync(int count)
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        var writer = NewWriter(db);
        writer.Start();
        Enqueue(writer, 0, count);
        await writer.FlushAsync();
        return (db, writer);
    }

    private static PollRecord Poll(int i) =>
        new("web", T0.AddSeconds(i).ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("up", 1)]);

    private static void Enqueue(BatchedWriter writer, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            Assert.True(writer.TryEnqueue(Poll(i)));
        }
    }

    /// <summary>Counts rows the way another process would see the file: its own connection, no pool.</summary>
    private static long Count(string path, string table)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        // Samples are hot rows or sealed in chunks (no sample here is in both: none arrives late).
        return table == "samples"
            ? HotSamplesTable.Count(c) + c.ExecuteScalar<long>("SELECT coalesce(sum(count), 0) FROM chunks;")
            : c.ExecuteScalar<long>($"SELECT count(*) FROM {table};");
    }

    private static void DeleteWithLog(string path)
    {
        File.Delete(path);
        File.Delete(path + "-wal");
    }

    private static void CreateOtherDatabase(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        c.Execute("CREATE TABLE unrelated (x INTEGER); INSERT INTO unrelated VALUES (42);");
    }

    [Fact]
    public void FileProblem_FileInPlace_IsNull()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        using var open = db.OpenConnection();

        Assert.Null(db.FileProblem());
        Assert.Null(db.FileProblem());
    }

    [Fact]
    public void FileProblem_FileDeletedMovedOrReplaced_SaysWhich()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        using var open = db.OpenConnection();
        Assert.Null(db.FileProblem()); // the log in use is noted here

        var moved = _temp.DatabasePath + ".moved";
        File.Move(_temp.DatabasePath, moved);
        Assert.Equal(DatabaseFileLossKind.Deleted, db.FileProblem()?.Kind);

        CreateOtherDatabase(_temp.DatabasePath);
        var replaced = db.FileProblem();
        Assert.Equal(DatabaseFileLossKind.Replaced, replaced?.Kind);
        Assert.Contains(_temp.DatabasePath, replaced!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileProblem_WriteAheadLogDeleted_SaysSo()
    {
        var db = RoadmapDatabase.Open(_temp.DatabasePath);
        using var open = db.OpenConnection();
        Assert.Null(db.FileProblem());

        File.Delete(_temp.DatabasePath + "-wal");

        Assert.Equal(DatabaseFileLossKind.LogDeleted, db.FileProblem()?.Kind);
    }

    [Fact]
    public async Task Writer_FileAndLogDeletedWhileRunning_RestoresWhatWasWrittenAndWritesLaterPollsAtThePath()
    {
        var (db, writer) = await StartWithPollsAsync(50);
        await using var _ = writer;

        DeleteWithLog(_temp.DatabasePath);
        Enqueue(writer, 50, 50);
        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, writer.FilesLost);
        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Equal(100, Count(_temp.DatabasePath, "polls"));
        Assert.Equal(100, Count(_temp.DatabasePath, "samples"));
        // Readers (evaluation, the API) see the restored file too, not the pooled connections of the lost one.
        Assert.Equal(100, db.Samples.Read("web", "up", T0, T0.AddMinutes(5)).Count);
    }

    [Fact]
    public async Task Writer_FileReplacedWhileRunning_KeepsTheOldDataBesideItAndWritesIntoTheNewFile()
    {
        var (db, writer) = await StartWithPollsAsync(30);
        await using var _ = writer;

        var other = Path.Combine(_temp.Folder, "other.db");
        CreateOtherDatabase(other);
        File.Move(other, _temp.DatabasePath, overwrite: true);
        Enqueue(writer, 30, 20);
        var flush = writer.FlushAsync();
        await Task.WhenAny(flush, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(flush.IsCompleted, $"not written: {writer.Health} {writer.LastError}");

        Assert.Equal(1, writer.FilesLost);
        Assert.Equal(20, Count(_temp.DatabasePath, "polls"));
        Assert.Equal(1, Count(_temp.DatabasePath, "unrelated")); // the replacement's own data is untouched
        var aside = Assert.Single(Directory.GetFiles(Path.GetDirectoryName(_temp.DatabasePath)!, "roadmap.db.lost-*"));
        Assert.Equal(30, Count(aside, "polls"));
    }

    [Fact]
    public async Task Writer_FolderReplacedByAFile_ReportsFileLostKeepsThePollsAndWritesThemAllWhenTheFolderCanBeMadeAgain()
    {
        var (db, writer) = await StartWithPollsAsync(10);
        await using var _ = writer;

        var folder = Path.GetDirectoryName(_temp.DatabasePath)!;
        Directory.Delete(folder, recursive: true);
        await File.WriteAllTextAsync(folder, "not a folder");
        Enqueue(writer, 10, 10);
        var flush = writer.FlushAsync();
        for (var waited = 0; writer.Health != StorageHealth.FileLost && waited < 1_000; waited++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(StorageHealth.FileLost, writer.Health);
        Assert.Contains(_temp.DatabasePath, writer.LastError, StringComparison.Ordinal);
        Assert.False(flush.IsCompleted);
        Assert.Equal(1, writer.FilesLost);

        File.Delete(folder);
        await flush.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Equal(1, writer.FilesLost); // one loss, however many attempts it took
        Assert.Equal(0, writer.PollsDropped);
        Assert.Equal(20, Count(_temp.DatabasePath, "polls"));
    }
}
