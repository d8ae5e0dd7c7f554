using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// The samples of a series as stored on one connection: its chunks and its hot rows (<see cref="ChunkedSamples"/>), read
/// and sealed through SQLite's own API with statements prepared once. Used by every reader of samples (window reads,
/// the writer's rollup recompute) and, as <see cref="IChunkStore"/>, by the compactor on the writer's
/// connection. Not thread-safe; dispose before the connection.
/// </summary>
internal sealed class SqliteChunks(sqlite3 db) : IChunkStore, IDisposable
{
    private readonly List<sqlite3_stmt> _all = [];

    /// <summary>
    /// The hot entries <see cref="TakeHot"/> took in the open transaction, by row (source key, ts): every read of this
    /// session leaves them out, and <see cref="Commit"/> writes each row once without them. A compactor's step takes a
    /// key's series one after another from the same rows; rewriting a row for each of them cost a rewrite per series.
    /// </summary>
    private readonly SortedDictionary<(long Key, long Ts), List<long>> _taken = [];
    private bool _open;

    private sqlite3_stmt Overlapping => field ??= Prepare(ChunksTable.OverlappingRaw);

    private sqlite3_stmt StartingIn => field ??= Prepare(ChunksTable.StartingInRaw);

    private sqlite3_stmt HotRange => field ??= Prepare(ChunksTable.HotRaw);

    private sqlite3_stmt CountStmt => field ??= Prepare(ChunksTable.CountStartingInRaw);

    private sqlite3_stmt HotRowsStmt => field ??= Prepare(ChunksTable.HotRowsRaw);

    private sqlite3_stmt SelectRow => field ??= Prepare(SamplesTable.SelectRowRaw);

    private sqlite3_stmt OldestStmt => field ??= Prepare(ChunksTable.OldestSealedRaw);

    private sqlite3_stmt ExactStmt => field ??= Prepare(ChunksTable.ExactRaw);

    private sqlite3_stmt DayCountStmt => field ??= Prepare($"SELECT count FROM {RollupLevel.Day.Table} WHERE series_id = ?1 AND start_ts = ?2;");

    /// <summary>Calls <paramref name="add"/> with the series' samples with from &lt;= ts &lt; to, oldest first.</summary>
    public void Read(long series, long fromMs, long toMs, Action<Point> add)
    {
        if (toMs <= fromMs)
        {
            return;
        }

        ChunkedSamples.Merge(Blobs(Overlapping, series, fromMs, toMs), Hot(series, fromMs, toMs), fromMs, toMs, add);
    }

    /// <summary>The series' oldest sample's ts, hot or sealed; null when it has none.</summary>
    public long? Oldest(long series)
    {
        var hot = OldestHot(series, long.MinValue);
        var s = OldestStmt;
        raw.sqlite3_bind_int64(s, 1, series);
        try
        {
            if (Row(s) && raw.sqlite3_column_int64(s, 0) is var sealedTs && (hot is null || sealedTs < hot))
            {
                return sealedTs;
            }

            return hot;
        }
        finally
        {
            raw.sqlite3_reset(s);
        }
    }

    /// <summary>Whether a day chunk of the series starts at <paramref name="dayStartMs"/>: the day's hour rollups are
    /// then not authoritative (dropped when it was sealed) and the day is answered from its samples.</summary>
    public bool HasDayChunk(long series, long dayStartMs)
    {
        var s = ExactStmt;
        Bind(s, series, dayStartMs, dayStartMs + ChunkedSamples.MaxRangeMs);
        try
        {
            return Row(s);
        }
        finally
        {
            raw.sqlite3_reset(s);
        }
    }

    public void Begin()
    {
        Check(raw.sqlite3_exec(db, "BEGIN IMMEDIATE;"));
        _open = true;
    }

    public void Commit()
    {
        WriteTaken();
        Check(raw.sqlite3_exec(db, "COMMIT;"));
        _open = false;
    }

    public void Rollback()
    {
        _taken.Clear();
        if (_open)
        {
            raw.sqlite3_exec(db, "ROLLBACK;");
            _open = false;
        }
    }

    public IReadOnlyList<long> SeriesIds()
    {
        var ids = new List<long>();
        var s = Prepare("SELECT id FROM series ORDER BY id;");
        while (Row(s))
        {
            ids.Add(raw.sqlite3_column_int64(s, 0));
        }

        Forget(s);
        return ids;
    }

    /// <remarks>Reads the key's rows from <paramref name="fromMs"/> on until one holds the series: the first, while the
    /// series is polled with its source.</remarks>
    public long? OldestHot(long series, long fromMs)
    {
        var s = HotRange;
        Bind(s, series, fromMs, long.MaxValue);
        try
        {
            while (Row(s))
            {
                if (Entry(s, series, out _))
                {
                    return raw.sqlite3_column_int64(s, 0);
                }
            }

            return null;
        }
        finally
        {
            raw.sqlite3_reset(s);
        }
    }

    public IReadOnlyList<(long Series, long DayStart)> PartialChunks(long beforeMs, int limit)
    {
        var found = new List<(long, long)>();
        var s = Prepare(ChunksTable.PartialRaw);
        raw.sqlite3_bind_int64(s, 1, beforeMs);
        raw.sqlite3_bind_int64(s, 2, limit);
        while (Row(s))
        {
            found.Add((raw.sqlite3_column_int64(s, 0), raw.sqlite3_column_int64(s, 1)));
        }

        Forget(s);
        return found;
    }

    /// <remarks>
    /// The key's rows in the range bound the series' hot samples there (a series has at most one entry a row): counted
    /// without reading a row's data, and the entries counted only when that bound is past a chunk's size.
    /// </remarks>
    public long CountAtMost(long series, long fromMs, long toMs)
    {
        var sealedCount = Count(CountStmt, series, fromMs, toMs);
        var bound = Count(HotRowsStmt, series, fromMs, toMs);
        return sealedCount + (sealedCount + bound <= ChunkCodec.MaxSamples ? bound : Hot(series, fromMs, toMs).Count);
    }

    /// <summary>The count a statement of (?1 series, ?2 from, ?3 to) returns in its one row (0 when it has none).</summary>
    private long Count(sqlite3_stmt s, long series, long fromMs, long toMs)
    {
        Bind(s, series, fromMs, toMs);
        try
        {
            return Row(s) ? raw.sqlite3_column_int64(s, 0) : 0;
        }
        finally
        {
            raw.sqlite3_reset(s);
        }
    }

    /// <remarks>Read, then deleted: the compactor's transaction holds SQLite's write lock, so nothing changes between.</remarks>
    public IReadOnlyList<byte[]> TakeChunks(long series, long fromMs, long toMs)
    {
        var chunks = Blobs(StartingIn, series, fromMs, toMs);
        Execute(ChunksTable.DeleteStartingInRaw, s => Bind(s, series, fromMs, toMs));
        return chunks;
    }

    /// <remarks>
    /// Read, then taken out of their rows, under the compactor's write lock: from now on this session reads the rows
    /// without them, and <see cref="Commit"/> writes each row once (deleted when no entry is left, else rewritten with
    /// the key's other series, which stay hot until they are sealed themselves).
    /// </remarks>
    public IReadOnlyList<Point> TakeHot(long series, long fromMs, long toMs)
    {
        var points = new List<Point>();
        var s = HotRange;
        Bind(s, series, fromMs, toMs);
        try
        {
            while (Row(s))
            {
                if (Entry(s, series, out var value))
                {
                    var ts = raw.sqlite3_column_int64(s, 0);
                    points.Add(new Point(ts, value));
                    var row = (series - raw.sqlite3_column_int64(s, 2), ts);
                    if (!_taken.TryGetValue(row, out var offsets))
                    {
                        _taken[row] = offsets = [];
                    }

                    offsets.Add(raw.sqlite3_column_int64(s, 2));
                }
            }
        }
        finally
        {
            raw.sqlite3_reset(s);
        }

        return points;
    }

    /// <summary>Writes the rows <see cref="TakeHot"/> took entries from, in key order: each once, without them.</summary>
    private void WriteTaken()
    {
        foreach (var ((key, ts), offsets) in _taken)
        {
            byte[]? data;
            raw.sqlite3_bind_int64(SelectRow, 1, key);
            raw.sqlite3_bind_int64(SelectRow, 2, ts);
            try
            {
                if (!Row(SelectRow))
                {
                    continue;
                }

                data = raw.sqlite3_column_blob(SelectRow, 0).ToArray();
            }
            finally
            {
                raw.sqlite3_reset(SelectRow);
            }

            foreach (var offset in offsets)
            {
                data = HotRow.Remove(data, offset) ?? data;
            }

            if (data.Length == 0)
            {
                Execute(SamplesTable.DeleteRowRaw, d =>
                {
                    raw.sqlite3_bind_int64(d, 1, key);
                    raw.sqlite3_bind_int64(d, 2, ts);
                });
            }
            else
            {
                Execute(SamplesTable.UpdateRowRaw, u =>
                {
                    raw.sqlite3_bind_int64(u, 1, key);
                    raw.sqlite3_bind_int64(u, 2, ts);
                    raw.sqlite3_bind_blob(u, 3, data);
                });
            }
        }

        _taken.Clear();
    }

    public void InsertChunk(long series, long fromMs, long toMs, byte[] chunk, ChunkHeader header) =>
        Execute(ChunksTable.InsertRaw, s =>
        {
            Bind(s, series, fromMs, toMs);
            raw.sqlite3_bind_int64(s, 4, header.Count);
            raw.sqlite3_bind_int64(s, 5, header.MinTs);
            raw.sqlite3_bind_int64(s, 6, header.MaxTs);
            raw.sqlite3_bind_blob(s, 7, chunk);
        });

    public void DropHourRollups(long series, long fromMs, long toMs) =>
        Execute(RollupsTable.DeleteRangeRaw(RollupLevel.Hour), s => Bind(s, series, fromMs, toMs));

    public long? DayRollupCount(long series, long dayStartMs) => FirstLong(DayCountStmt, series, dayStartMs);

    public void ReplaceDayRollup(long series, long dayStartMs, SeriesSummary summary, bool closedDayChanged)
    {
        Execute(RollupsTable.Upsert(RollupLevel.Day), s => RollupsTable.BindRaw(s, series, dayStartMs, summary));
        if (closedDayChanged)
        {
            Execute(SeriesTable.ClosedDaysChangedRaw, s => raw.sqlite3_bind_int64(s, 1, series));
        }
    }

    /// <summary>The first row's first column of <paramref name="s"/> bound to (?1, ?2); null when it has no row.</summary>
    private long? FirstLong(sqlite3_stmt s, long first, long second)
    {
        raw.sqlite3_bind_int64(s, 1, first);
        raw.sqlite3_bind_int64(s, 2, second);
        try
        {
            return Row(s) ? raw.sqlite3_column_int64(s, 0) : null;
        }
        finally
        {
            raw.sqlite3_reset(s);
        }
    }

    private List<Point> Hot(long series, long fromMs, long toMs)
    {
        var s = HotRange;
        Bind(s, series, fromMs, toMs);
        var points = new List<Point>();
        try
        {
            while (Row(s))
            {
                if (Entry(s, series, out var value))
                {
                    points.Add(new Point(raw.sqlite3_column_int64(s, 0), value));
                }
            }
        }
        finally
        {
            raw.sqlite3_reset(s);
        }

        return points;
    }

    /// <summary>
    /// The series' entry in the current row of <see cref="ChunksTable.HotRaw"/> (ts, data, offset), unless
    /// <see cref="TakeHot"/> took it in this transaction.
    /// </summary>
    private bool Entry(sqlite3_stmt s, long series, out double value)
    {
        var offset = raw.sqlite3_column_int64(s, 2);
        if (_taken.Count > 0 && _taken.TryGetValue((series - offset, raw.sqlite3_column_int64(s, 0)), out var taken) && taken.Contains(offset))
        {
            value = 0;
            return false;
        }

        try
        {
            return HotRow.TryGet(raw.sqlite3_column_blob(s, 1), offset, out value);
        }
        catch (StorageException e) when (e.InnerException is InvalidDataException)
        {
            var ts = raw.sqlite3_column_int64(s, 0);
            throw new StorageException(
                FormattableString.Invariant($"{e.Message} (source key {series - offset}, ts {ts}, read for series {series})"), e.InnerException, e.Health, e.Cause);
        }
    }

    public void Dispose()
    {
        Rollback();
        foreach (var s in _all)
        {
            s.Dispose();
        }

        _all.Clear();
    }

    private List<byte[]> Blobs(sqlite3_stmt s, long series, long fromMs, long toMs)
    {
        Bind(s, series, fromMs, toMs);
        var blobs = new List<byte[]>();
        try
        {
            while (Row(s))
            {
                blobs.Add(raw.sqlite3_column_blob(s, 0).ToArray());
            }
        }
        finally
        {
            raw.sqlite3_reset(s);
        }

        return blobs;
    }

    private readonly Dictionary<string, sqlite3_stmt> _writes = [];

    private void Execute(string sql, Action<sqlite3_stmt> bind)
    {
        if (!_writes.TryGetValue(sql, out var s))
        {
            s = _writes[sql] = Prepare(sql);
        }

        bind(s);
        var rc = raw.sqlite3_step(s);
        raw.sqlite3_reset(s);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private static void Bind(sqlite3_stmt s, long series, long fromMs, long toMs)
    {
        raw.sqlite3_bind_int64(s, 1, series);
        raw.sqlite3_bind_int64(s, 2, fromMs);
        raw.sqlite3_bind_int64(s, 3, toMs);
    }

    private bool Row(sqlite3_stmt s)
    {
        var rc = raw.sqlite3_step(s);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc != raw.SQLITE_DONE)
        {
            raw.sqlite3_reset(s);
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        return false;
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(db, sql, out var s));
        _all.Add(s);
        return s;
    }

    private void Forget(sqlite3_stmt s)
    {
        _all.Remove(s);
        s.Dispose();
    }
}
