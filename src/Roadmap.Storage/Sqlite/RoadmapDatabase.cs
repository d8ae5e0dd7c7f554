using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// The SQLite backend: the file, opened in WAL mode, created and migrated on open. Migrations only ever add; none drops
/// data. Connections are cheap (Microsoft.Data.Sqlite pools them); the writer keeps one, readers open their own.
/// </summary>
/// <remarks>
/// The file can be deleted, moved or replaced under the running service (a clean-up script, an operator restoring a
/// backup with <c>mv</c>). SQLite does not notice: its open descriptors still reach the old inode, commits succeed, and
/// everything written afterwards is gone with it. <see cref="FileProblem"/> tells when the path no longer names the
/// file that was opened, and <see cref="Recover"/> saves what the old file holds and opens a database at the path again.
/// </remarks>
public sealed class RoadmapDatabase : IRoadmapStorage
{
    private readonly string _createConnectionString;
    private FileIdentity? _main;
    private FileIdentity? _wal;
    // A loss whose data is saved and whose path is cleared, but where no database could be opened yet.
    private (DatabaseFileLoss Loss, string Outcome)? _pending;

    private RoadmapDatabase(string path, TimeProvider time)
    {
        Path = path;
        _createConnectionString = Connection(path, SqliteOpenMode.ReadWriteCreate);
        ConnectionString = Connection(path, SqliteOpenMode.ReadWrite);
        Samples = new SqliteSampleReader(this, new ClosedDaysCache(time));
        Evaluations = new SqliteEvaluationStore(this);
        Updates = new SqliteUpdateStore(this);
    }

    /// <summary>The database file's full path.</summary>
    public string Path { get; }

    /// <summary>The database file's full path.</summary>
    public string Location => Path;

    public ISampleReader Samples { get; }

    public IEvaluationStore Evaluations { get; }

    /// <inheritdoc/>
    public IUpdateStore Updates { get; }

    /// <summary>
    /// For every connection after the first: read-write, never create. Where the file went missing a reader then fails
    /// instead of leaving an empty database at the path.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>The schema version after migration.</summary>
    public int SchemaVersion { get; private set; }

    /// <summary>Opens (creating the file and its folder if needed) and migrates the database.</summary>
    /// <exception cref="StorageException">The file cannot be opened, is not a database, or cannot be migrated.</exception>
    public static RoadmapDatabase Open(string path, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var db = new RoadmapDatabase(System.IO.Path.GetFullPath(path), time);
        db.Initialize(time);
        return db;
    }

    private static string Connection(string path, SqliteOpenMode mode) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = mode,
        // The creating connection is used once per open (and per recovery): pooled, it would outlive a lost file and
        // be handed back, still on the old inode, when the path is opened again.
        Pooling = mode != SqliteOpenMode.ReadWriteCreate,
        DefaultTimeout = 30,
    }.ToString();

    private void Initialize(TimeProvider time)
    {
        try
        {
            if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } dir)
            {
                Directory.CreateDirectory(dir);
            }

            using var connection = Configure(new SqliteConnection(_createConnectionString));
            // WAL lets readers (evaluation, API) run while the writer commits; NORMAL in WAL is durable up to the
            // last checkpoint-free commit on power loss and fully safe on process crash.
            connection.Execute("PRAGMA journal_mode=WAL;");
            SchemaVersion = Migrations.Apply(connection, time);
            _main = FileIdentity.Read(Path, out var main) == FileIdentityRead.Found ? main : null;
            _wal = null;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot open the database {Path}: {e.Message}", e);
        }
    }

    /// <summary>What SQLite has allocated in this process, all databases and connections together.</summary>
    public long? MemoryBytes => SQLitePCL.raw.sqlite3_memory_used();

    /// <summary>True: <see cref="SqliteReadSession"/> reads the samples stored after a window's newest hour rollup.</summary>
    public bool ReadsPastHourRollups => true;

    /// <summary>Bytes on disk: the main file plus its write-ahead log (0 for a file that is missing).</summary>
    public long SizeBytes()
    {
        static long Size(string path)
        {
            try
            {
                var info = new FileInfo(path);
                return info.Exists ? info.Length : 0;
            }
            catch (IOException)
            {
                return 0;
            }
        }

        return Size(Path) + Size(Path + "-wal");
    }

    public IStorageWriteSession OpenWriteSession(StorageOptions options, TimeProvider time) => new SqliteWriteSession(this, options, time);

    /// <summary>An open connection with the per-connection settings applied.</summary>
    public SqliteConnection OpenConnection() => Configure(new SqliteConnection(ConnectionString));

    private static SqliteConnection Configure(SqliteConnection connection)
    {
        connection.Open();
        connection.Execute("PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
        return connection;
    }

    /// <summary>
    /// Null while the path still names the database file that was opened (and its write-ahead log the one in use);
    /// else what happened to it. Costs a statx call or two: cheap enough before every commit.
    /// </summary>
    /// <remarks>Call it only while a connection is open: SQLite deletes the write-ahead log when the last one closes.</remarks>
    public DatabaseFileLoss? FileProblem()
    {
        if (_pending is { } pending)
        {
            return pending.Loss;
        }

        switch (FileIdentity.Read(Path, out var main))
        {
            case FileIdentityRead.Missing:
                return new DatabaseFileLoss(DatabaseFileLossKind.Deleted, $"the database file {Path} was deleted or moved away");
            case FileIdentityRead.Unsupported:
                return File.Exists(Path) ? null : new DatabaseFileLoss(DatabaseFileLossKind.Deleted, $"the database file {Path} was deleted or moved away");
            case FileIdentityRead.Found when _main is { } opened && opened != main:
                return new DatabaseFileLoss(DatabaseFileLossKind.Replaced, $"the database file {Path} was replaced by another file");
            case FileIdentityRead.Found when _main is null:
                _main = main; // opened where identities could not be read (yet): judge from now on
                break;
        }

        // The log is created with the first connection and kept while one is open; the first identity read is the one in use.
        switch (FileIdentity.Read(Path + "-wal", out var wal))
        {
            case FileIdentityRead.Missing when _wal is not null:
                return new DatabaseFileLoss(DatabaseFileLossKind.LogDeleted, $"the write-ahead log {Path}-wal was deleted");
            case FileIdentityRead.Found when _wal is { } used && used != wal:
                return new DatabaseFileLoss(DatabaseFileLossKind.LogDeleted, $"the write-ahead log {Path}-wal was replaced by another file");
            case FileIdentityRead.Found when _wal is null:
                _wal = wal;
                break;
        }

        return null;
    }

    /// <summary>
    /// After <see cref="FileProblem"/> found a loss: copies everything the lost file holds into a new file through
    /// <paramref name="current"/> (a connection still open on it: its descriptors reach the old inode and log), puts
    /// that copy at the path (deleted or log deleted) or beside it (replaced: the file now at the path is kept and
    /// used), and opens and migrates the database at the path again. Other connections are dropped from the pool;
    /// the caller opens a new one for itself.
    /// </summary>
    /// <returns>What was done, for the log.</returns>
    /// <exception cref="StorageException">The database at the path cannot be opened yet (e.g. its folder is gone and
    /// cannot be created); call again later with the same connection.</exception>
    public string Recover(DatabaseFileLoss loss, SqliteConnection current, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(loss);
        _pending ??= (loss, Save(loss, current, time));
        Initialize(time);
        var outcome = _pending.Value.Outcome;
        _pending = null;
        return outcome;
    }

    private string Save(DatabaseFileLoss loss, SqliteConnection current, TimeProvider time)
    {
        var copy = Path + ".recovering";
        string? saved = null;
        try
        {
            if (System.IO.Path.GetDirectoryName(Path) is { Length: > 0 } dir)
            {
                Directory.CreateDirectory(dir);
            }

            File.Delete(copy);
            current.Execute($"VACUUM INTO '{copy.Replace("'", "''", StringComparison.Ordinal)}';");
            saved = copy;
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            saved = null;
            TryDelete(copy);
            if (loss.Kind != DatabaseFileLossKind.Replaced && !Directory.Exists(System.IO.Path.GetDirectoryName(Path)))
            {
                // Nothing can be opened at the path either: keep the old file's data for the next attempt.
                throw new StorageException($"cannot open a new database at {Path}: {e.Message}", e);
            }
        }

        // Every pooled connection still reaches the old inode; new ones must open the path.
        SqliteConnection.ClearPool(current);
        string outcome;
        if (loss.Kind == DatabaseFileLossKind.Replaced)
        {
            var aside = $"{Path}.lost-{time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
            if (saved is not null)
            {
                File.Move(saved, aside, overwrite: true);
            }

            outcome = saved is null
                ? $"the file now at {Path} is used; what the old one held could not be saved"
                : $"the file now at {Path} is used; what the old one held is saved in {aside}";
        }
        else
        {
            outcome = saved is null
                ? $"a new, empty database is created at {Path}; what the old file held could not be saved"
                : $"everything the old file held is restored at {Path}";
        }

        // The log and shared memory at the path are the old file's: opened with another file they would be replayed into it.
        TryDelete(Path + "-wal");
        TryDelete(Path + "-shm");
        if (saved is not null && loss.Kind != DatabaseFileLossKind.Replaced)
        {
            File.Move(saved, Path, overwrite: true);
        }

        return outcome;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: opening the database reports what is wrong with it.
        }
    }
}

/// <summary>How the database file was lost under the running service.</summary>
public enum DatabaseFileLossKind
{
    /// <summary>Nothing is at the path any more (deleted, or moved away).</summary>
    Deleted,

    /// <summary>Another file is at the path.</summary>
    Replaced,

    /// <summary>The main file is in place, its write-ahead log was deleted or replaced.</summary>
    LogDeleted,
}

/// <summary>A lost database file: how, and a sentence for the log.</summary>
public sealed record DatabaseFileLoss(DatabaseFileLossKind Kind, string Message);

