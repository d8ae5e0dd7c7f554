using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// Writes samples into SQLite's hot samples table (<see cref="SamplesTable"/>) through SQLite's own API on one
/// connection, inside the caller's transaction: the samples are given in key order (source key, ts, series) with
/// <see cref="Add"/>, each run of one key and ts becomes a row, and <see cref="Flush"/> inserts the rows
/// <see cref="SamplesTable.InsertManyRows"/> to a statement. A row whose key and ts are stored is merged into the stored
/// one. The buffers are kept between flushes; the statements are prepared once. Not thread-safe; dispose before the
/// connection.
/// </summary>
internal sealed class HotRowWriter(sqlite3 db) : IDisposable
{
    private readonly List<sqlite3_stmt> _all = [];
    private Row[] _rows = new Row[64];
    private byte[] _bytes = new byte[64 * HotRow.MaxEntryBytes];
    private int _count;
    private int _length;
    private int _lastEntry;
    private long _lastSeries;

    private sqlite3_stmt InsertMany => field ??= Prepare(SamplesTable.InsertManyRaw);

    private sqlite3_stmt InsertOne => field ??= Prepare(SamplesTable.InsertOneRaw);

    private sqlite3_stmt Select => field ??= Prepare(SamplesTable.SelectRowRaw);

    private sqlite3_stmt Update => field ??= Prepare(SamplesTable.UpdateRowRaw);

    /// <summary>
    /// Adds a sample after those added since the last flush, in key order: a later sample of the series at the same
    /// ts replaces the earlier one.
    /// </summary>
    /// <exception cref="ArgumentException">The sample comes before the last one in key order.</exception>
    public void Add(long key, long ts, long series, double value)
    {
        if (_count > 0 && _rows[_count - 1].Key == key && _rows[_count - 1].Ts == ts)
        {
            if (series < _lastSeries)
            {
                throw new ArgumentException($"sample of series {series} after series {_lastSeries} at key {key}, ts {ts}: not in key order", nameof(series));
            }

            if (series == _lastSeries)
            {
                _length = _lastEntry;
            }
        }
        else
        {
            if (_count > 0 && (key, ts).CompareTo((_rows[_count - 1].Key, _rows[_count - 1].Ts)) < 0)
            {
                throw new ArgumentException($"sample at key {key}, ts {ts} after key {_rows[_count - 1].Key}, ts {_rows[_count - 1].Ts}: not in key order", nameof(ts));
            }

            if (_count == _rows.Length)
            {
                Array.Resize(ref _rows, _rows.Length * 2);
            }

            _rows[_count++] = new Row(key, ts, _length);
        }

        if (_length + HotRow.MaxEntryBytes > _bytes.Length)
        {
            Array.Resize(ref _bytes, _bytes.Length * 2);
        }

        _lastEntry = _length;
        _lastSeries = series;
        _length += HotRow.Write(_bytes.AsSpan(_length), series - key, value);
    }

    /// <summary>
    /// Inserts the rows added since the last flush. Where a row's key and ts are stored, the stored row and this one
    /// are merged: where both hold a series, this one's value when <paramref name="incomingWins"/> (the writer: a later
    /// sample replaces), else the stored one (an import keeps what is there).
    /// </summary>
    public void Flush(bool incomingWins)
    {
        try
        {
            var whole = _count - (_count % SamplesTable.InsertManyRows);
            InsertInStatementsOf(InsertMany, SamplesTable.InsertManyRows, 0, whole, incomingWins);
            InsertInStatementsOf(InsertOne, 1, whole, _count, incomingWins);
        }
        finally
        {
            _count = 0;
            _length = 0;
        }
    }

    public void Dispose()
    {
        foreach (var s in _all)
        {
            s.Dispose();
        }

        _all.Clear();
    }

    private ReadOnlySpan<byte> Data(int row) =>
        _bytes.AsSpan(_rows[row].Start, (row + 1 < _count ? _rows[row + 1].Start : _length) - _rows[row].Start);

    private void InsertInStatementsOf(sqlite3_stmt insert, int perStatement, int from, int to, bool incomingWins)
    {
        for (var i = from; i < to; i += perStatement)
        {
            for (var k = 0; k < perStatement; k++)
            {
                raw.sqlite3_bind_int64(insert, (3 * k) + 1, _rows[i + k].Key);
                raw.sqlite3_bind_int64(insert, (3 * k) + 2, _rows[i + k].Ts);
                raw.sqlite3_bind_blob(insert, (3 * k) + 3, Data(i + k));
            }

            Step(insert);
            if (raw.sqlite3_changes(db) < perStatement)
            {
                for (var k = 0; k < perStatement; k++)
                {
                    MergeStored(i + k, incomingWins);
                }
            }
        }
    }

    /// <summary>
    /// Merges a row its statement left out (its key and ts were stored) into the stored row. A row the statement
    /// inserted reads back as it is and is left alone, and so is one the merge does not change.
    /// </summary>
    private void MergeStored(int row, bool incomingWins)
    {
        var (key, ts) = (_rows[row].Key, _rows[row].Ts);
        var ours = Data(row);
        byte[]? merged = null;
        raw.sqlite3_bind_int64(Select, 1, key);
        raw.sqlite3_bind_int64(Select, 2, ts);
        try
        {
            var rc = raw.sqlite3_step(Select);
            if (rc == raw.SQLITE_ROW)
            {
                var stored = raw.sqlite3_column_blob(Select, 0);
                if (!stored.SequenceEqual(ours) && HotRow.Merge(stored, ours, incomingWins) is var m && !stored.SequenceEqual(m))
                {
                    merged = m;
                }
            }
            else if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }
        }
        finally
        {
            raw.sqlite3_reset(Select);
        }

        if (merged is not null)
        {
            raw.sqlite3_bind_int64(Update, 1, key);
            raw.sqlite3_bind_int64(Update, 2, ts);
            raw.sqlite3_bind_blob(Update, 3, merged);
            Step(Update);
        }
    }

    private void Step(sqlite3_stmt stmt)
    {
        var rc = raw.sqlite3_step(stmt);
        raw.sqlite3_reset(stmt);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    private sqlite3_stmt Prepare(string sql)
    {
        var rc = raw.sqlite3_prepare_v2(db, sql, out var stmt);
        if (rc != raw.SQLITE_OK)
        {
            stmt.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        _all.Add(stmt);
        return stmt;
    }

    /// <summary>A row added since the last flush: its key and ts, and where its entries start in the bytes.</summary>
    private readonly record struct Row(long Key, long Ts, int Start);
}
