namespace Roadmap.Storage.Copy;

/// <summary>
/// The read side of a copy between stores (<see cref="StorageCopier"/>): a store's history as streams of rows
/// (<see cref="HistoryStreamId"/>), each read page by page in key order from a position. A destination
/// (<see cref="IHistoryImport"/>) reads back through the same members, so the copier computes both sides' counts and
/// checksums with one piece of code (<see cref="StreamDigest"/>) from what each side returns.
/// </summary>
/// <remarks>
/// The contract every backend keeps:
/// <list type="bullet">
/// <item>A source never changes the store: no migration, no file created, nothing written.</item>
/// <item>Rows carry no store ids: a series is named by (source, signal), never by its id in one store.</item>
/// <item>Order: a stream's rows are ordered by <see cref="HistoryRow.Key"/>; rows with equal keys (polls, evaluations)
/// in an order that is the same on every call to the same store while nothing writes to it (SQLite: by rowid). Paging
/// from a <see cref="StreamPosition"/> relies on this.</item>
/// <item>Failures leave as <see cref="StorageException"/>, never as a driver's exception.</item>
/// <item>Not thread-safe: the copier calls one member at a time.</item>
/// </list>
/// </remarks>
public interface IHistoryExport : IDisposable
{
    /// <summary>Where the data is, for messages: a SQLite file's full path; never a secret (no connection string).</summary>
    string Location { get; }

    /// <summary>
    /// Every stream of <paramref name="table"/> that holds at least one row, each once, in any order. A series with
    /// no hot samples has no samples stream (it may still have chunk and rollup streams).
    /// </summary>
    IReadOnlyList<HistoryStreamId> Streams(HistoryTable table);

    /// <summary>Every row of <paramref name="table"/>: <c>count(*)</c>, rows of every stream and of none.</summary>
    long Count(HistoryTable table);

    /// <summary>
    /// At most <paramref name="limit"/> rows of <paramref name="stream"/> after <paramref name="after"/>, in stream
    /// order: rows whose key is greater than <c>after.Key</c>, preceded by those whose key equals it past the first
    /// <c>after.RowsAtKey</c> of them (in SQL: <c>WHERE key &gt;= @key ORDER BY key, tie LIMIT @limit OFFSET
    /// @rowsAtKey</c>). No rows means the stream's end; a stream the store does not hold has none. A page of chunks
    /// ends early, after the row that brings its bytes to <see cref="HistoryChunkRow.PageBytes"/> (chunks are kilobytes
    /// to megabytes each, so a row count alone does not bound a page's memory). Each row's type is the table's:
    /// <see cref="HistorySampleRow"/>, <see cref="HistoryChunkRow"/>, <see cref="HistoryRollupRow"/> (hour and day),
    /// <see cref="HistoryPollRow"/>, <see cref="HistoryEvaluationRow"/>, <see cref="HistoryBaselineRow"/>,
    /// <see cref="HistoryDeliveryRow"/>. A chunk longer than <see cref="Chunks.ChunkCodec.MaxBytes"/> is not loaded: it
    /// is a <see cref="StorageException"/> naming its series and range (<see cref="HistoryChunkRow.Damaged"/>).
    /// </summary>
    /// <param name="stream">The stream.</param>
    /// <param name="after">Where to continue; <see cref="StreamPosition.Start"/> for the first page.</param>
    /// <param name="limit">Rows at most, at least 1.</param>
    IReadOnlyList<HistoryRow> Read(HistoryStreamId stream, StreamPosition after, int limit);
}

/// <summary>
/// The write side of a copy between stores: a destination, opened (created and migrated where that is how the
/// backend opens) and read back through <see cref="IHistoryExport"/>'s members.
/// </summary>
/// <remarks>
/// Beyond <see cref="IHistoryExport"/>'s contract:
/// <list type="bullet">
/// <item><see cref="Insert"/> is one transaction: after a crash or a kill the destination holds every row of a batch
/// or none. A resumed copy continues from what the destination holds (its streams read back), so it never inserts a
/// row twice and never skips one.</item>
/// <item>Idempotent by key where a table has a unique key: a sample, chunk or rollup row whose (series, key), a baseline whose
/// (initiative, KPI, from, to, definition) or a delivery whose (name, fire) is already stored is left as it is (the
/// final verification reports any difference). Polls and evaluations have no unique key: every row given is
/// inserted, and the copier never gives one twice.</item>
/// <item>The parent rows a stream needs (a series row for samples and rollups) are created as needed, with the
/// destination's own ids.</item>
/// <item>Rollups and chunks are stored as given, never rebuilt from the samples nor sealed again, so windows read the
/// same on both sides.</item>
/// </list>
/// </remarks>
public interface IHistoryImport : IHistoryExport
{
    /// <summary>Inserts <paramref name="rows"/> (of the stream's table, in stream order) in one transaction.</summary>
    /// <exception cref="StorageException">Nothing of the batch was stored.</exception>
    void Insert(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows);
}
