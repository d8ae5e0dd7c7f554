using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using SQLitePCL;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// Reads for one evaluation round: one connection and prepared statements reused across every KPI (opening a
/// connection per read is too slow for a thousand KPIs a round). Not thread-safe. Series ids are cached for the
/// session's life: a series created meanwhile is seen by the next session.
/// </summary>
internal sealed class SqliteReadSession : ISampleReadSession
{
    private readonly SqliteConnection _connection;
    private readonly ClosedDaysCache _closedDays;
    private readonly Dictionary<(string, string), (long Id, long ClosedDaysVersion)?> _series = [];
    private readonly SqliteCommand _findSeries;
    private readonly SqliteChunks _samples;
    private readonly sqlite3_stmt _hours;
    private readonly sqlite3_stmt _days;
    private readonly SqliteCommand _lastPoll;
    private readonly SqliteCommand _lastSuccess;
    private readonly SqliteCommand _firstPollAfter;
    private readonly Func<SeriesSummary, bool> _noteHourRow;

    // One past the last sample of the newest whole-hour rollup a window read appended: the writer rewrites a series'
    // newest hour's row only now and then, so the samples after it are read raw (long.MinValue: no such row).
    private long _rowsEnd = long.MinValue;

    /// <param name="connection">Owned by the session from now on (also when this throws).</param>
    /// <param name="closedDays">The merged day rollups kept between sessions.</param>
    public SqliteReadSession(SqliteConnection connection, ClosedDaysCache closedDays)
    {
        _connection = connection;
        _closedDays = closedDays;
        _noteHourRow = row =>
        {
            _rowsEnd = row.LastTimestampMs + 1;
            return true;
        };
        try
        {
            _findSeries = Prepare("SELECT id, closed_days_version FROM series WHERE source = $source AND signal = $signal;", ("$source", SqliteType.Text), ("$signal", SqliteType.Text));
            _samples = new SqliteChunks(connection.Handle!);
            // SQLite's own API for the rollups, as for the chunks: a year's window reads hundreds of rows per KPI, and
            // the sketch bytes are merged from SQLite's buffer without a copy.
            _hours = SqliteHistoryReader.Prepare(connection.Handle!, RollupsTable.SelectRange(RollupLevel.Hour));
            _days = SqliteHistoryReader.Prepare(connection.Handle!, RollupsTable.SelectRange(RollupLevel.Day));
            _lastPoll = Prepare(PollsTable.SelectLast, ("$source", SqliteType.Text));
            _lastSuccess = Prepare(PollsTable.SelectLastSuccessAfter, ("$source", SqliteType.Text), ("$after", SqliteType.Integer));
            _firstPollAfter = Prepare(PollsTable.SelectFirstAfter, ("$source", SqliteType.Text), ("$after", SqliteType.Integer));
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        try
        {
            return InSnapshot(() =>
            {
                var points = new List<Point>();
                if (Series(source, signal) is { } series)
                {
                    ReadRaw(series.Id, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds() + 1, points.Add);
                }

                return points;
            });
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    public SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to, WindowReads reads = WindowReads.Exact)
    {
        try
        {
            var plan = WindowPlan.Of(from, to, reads.HasFlag(WindowReads.SketchQuantiles));
            return InSnapshot(() => SummarizeWindow(source, signal, plan, reads.HasFlag(WindowReads.OpenEnded)));
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    /// <summary>
    /// Runs one read in one read transaction: its statements (the chunks, the hot rows, the rollups, the series'
    /// version) then see one snapshot of the file. Each in a transaction of its own, a compaction step committing
    /// between the chunk read and the hot-row read made the samples it sealed vanish from that read: read from the
    /// chunks before they were sealed, deleted from the hot rows after.
    /// </summary>
    private T InSnapshot<T>(Func<T> read)
    {
        var db = _connection.Handle!;
        var rc = raw.sqlite3_exec(db, "BEGIN DEFERRED;");
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        try
        {
            return read();
        }
        finally
        {
            // A read transaction: nothing to keep, so ending it cannot lose anything.
            raw.sqlite3_exec(db, "COMMIT;");
        }
    }

    /// <param name="openEnded">Samples after the window's end already stored count too (<see cref="WindowReads.OpenEnded"/>).</param>
    private SeriesSummary SummarizeWindow(string source, string signal, WindowPlan plan, bool openEnded)
    {
        // Exact values are kept for exact quantiles only: a short window of a one-second poll holds tens of thousands.
        var total = SeriesSummary.Empty(keepValues: !plan.SketchQuantiles);
        if (plan.End <= plan.From || Series(source, signal) is not { } series)
        {
            return total;
        }

        var id = series.Id;
        var end = openEnded ? long.MaxValue : plan.End;
        _rowsEnd = long.MinValue;

        if (plan.Raw)
        {
            ReadRaw(id, plan.From, end, total.Add);
            return total;
        }

        // An edge inside a day a day chunk answers for is read raw from it: that day's hour rollups were dropped when
        // it was sealed (one left since, by a late sample, is partial).
        if (plan.From < plan.FirstDay && _samples.HasDayChunk(id, RollupLevel.Day.StartOf(plan.From)))
        {
            ReadRaw(id, plan.From, plan.FirstDay, total.Add);
        }
        else
        {
            StartEdge(id, plan, total);
        }

        // The closed days in kept segments, read and kept where not kept yet at the series' version; the newest days
        // every time.
        var kept = Math.Max(plan.FirstDay, _closedDays.KeptEnd(plan));
        foreach (var (from, to) in ClosedDaysCache.Segments(plan.FirstDay, kept))
        {
            if (!_closedDays.TryAppend(source, signal, from, to, series.ClosedDaysVersion, total))
            {
                var segment = SeriesSummary.Empty();
                Rollups(_days, id, from, to, segment);
                _closedDays.Put(source, signal, from, to, series.ClosedDaysVersion, segment);
                total.Append(segment);
            }
        }

        Rollups(_days, id, kept, plan.LastDay, total);
        var tail = SeriesSummary.Empty(keepValues: !plan.SketchQuantiles);
        // The last hour's UTC day: LastDay, or (a window with no day boundary inside, where LastDay is LastHour) the
        // day holding it.
        if (plan.LastDay < plan.End && _samples.HasDayChunk(id, RollupLevel.Day.StartOf(plan.LastHour)))
        {
            ReadRaw(id, plan.LastDay, end, tail.Add);
        }
        else
        {
            // Only the whole hours next to the open one can be the series' newest (whose row may lag): those read
            // before a day boundary are a day old or more.
            if (plan.FirstDay < plan.LastHour)
            {
                _rowsEnd = long.MinValue;
            }

            Rollups(_hours, id, plan.LastDay, plan.LastHour, total, _noteHourRow);
            var from = OpenHour(id, plan.LastHour, end, tail) ?? (_rowsEnd == long.MinValue ? plan.LastHour : _rowsEnd);
            if (from < end)
            {
                ReadRaw(id, from, end, tail.Add);
            }
        }

        total.Append(tail);
        return total;
    }

    /// <summary>The start edge [From, FirstDay) of a day no day chunk answers for: its whole hours from their rollups,
    /// the ragged hour before them raw (or its hour rollup once retention removed the raw samples).</summary>
    private void StartEdge(long id, WindowPlan plan, SeriesSummary total)
    {
        if (plan.RaggedStart && !(Oldest(id) is { } oldest && oldest <= plan.From))
        {
            Rollups(_hours, id, plan.EdgeHour, plan.FirstHour, total);
        }
        else
        {
            ReadRaw(id, plan.From, plan.FirstHour, total.Add);
        }

        Rollups(_hours, id, plan.FirstHour, plan.FirstDay, total, _noteHourRow);
    }

    /// <summary>
    /// The window's last, partial hour [hour, end) from its hour rollup, up to the rollup's last sample when that is
    /// before end: the open hour of a window that ends now. The writer stores an hour's rollup in the same transaction
    /// as its first samples and rewrites it now and then (<see cref="StorageOptions.OpenHourRollupEvery"/>), so in
    /// this snapshot the row holds exactly the hour's samples up to its last; the caller reads the ones after it raw.
    /// That is a few dozen samples per KPI each round, not up to 3,600. Null (read the hour raw) when the hour has no
    /// rollup or its row holds samples at or after end. Its day is not sealed (the caller looked): a sealed day's hour
    /// rollup, left by a late sample, is partial.
    /// </summary>
    /// <returns>Where the samples the row does not hold start (its last sample + 1).</returns>
    private long? OpenHour(long id, long hour, long end, SeriesSummary tail)
    {
        if (end <= hour)
        {
            return hour;
        }

        long? after = null;
        Rollups(_hours, id, hour, hour + 1, tail, row =>
        {
            var whole = row.Count > 0 && row.FirstTimestampMs >= hour && row.LastTimestampMs < end;
            after = whole ? row.LastTimestampMs + 1 : null;
            return whole;
        });
        return after;
    }

    public SourceState? PollState(string source, SourceState? previous = null)
    {
        try
        {
            return ReadPollState(source, previous);
        }
        catch (Exception e) when (SqliteFailures.IsStoreFailure(e))
        {
            throw SqliteFailures.Wrap(e);
        }
    }

    private SourceState? ReadPollState(string source, SourceState? previous)
    {
        _lastPoll.Parameters[0].Value = source;
        (long, bool, string?)? last = null;
        using (var r = _lastPoll.ExecuteReader())
        {
            if (r.Read())
            {
                last = (r.GetInt64(0), r.GetString(1) == "success", r.IsDBNull(2) ? null : r.GetString(2));
            }
        }

        return PollStates.From(last, previous, after => Scalar(_lastSuccess, source, after), after => Scalar(_firstPollAfter, source, after));
    }

    public void Dispose()
    {
        _lastPoll.Dispose();
        _lastSuccess.Dispose();
        _firstPollAfter.Dispose();
        _findSeries.Dispose();
        _samples.Dispose();
        _hours.Dispose();
        _days.Dispose();
        _connection.Dispose();
    }

    /// <summary>The series' id and closed-days version (<see cref="ClosedDaysCache"/>), read once per session: before
    /// any of its day rollups are.</summary>
    private (long Id, long ClosedDaysVersion)? Series(string source, string signal)
    {
        if (!_series.TryGetValue((source, signal), out var series))
        {
            _findSeries.Parameters[0].Value = source;
            _findSeries.Parameters[1].Value = signal;
            using (var r = _findSeries.ExecuteReader())
            {
                series = r.Read() ? (r.GetInt64(0), r.GetInt64(1)) : null;
            }

            // Only a known series is cached: one created later in the round is found on the next read.
            if (series is not null)
            {
                _series[(source, signal)] = series;
            }
        }

        return series;
    }

    private static long? Scalar(SqliteCommand command, string source, long after)
    {
        command.Parameters[0].Value = source;
        command.Parameters[1].Value = after;
        return command.ExecuteScalar() is long ts ? ts : null;
    }

    private long? Oldest(long id) => _samples.Oldest(id);

    /// <summary>The samples with from &lt;= ts &lt; to: the chunks' and the hot rows' merged.</summary>
    private void ReadRaw(long id, long from, long to, Action<Point> add) => _samples.Read(id, from, to, add);

    /// <summary>Appends the rollups with from &lt;= start &lt; to to <paramref name="total"/>, oldest first; the rows
    /// appended. With <paramref name="accept"/>, stops at the first row it refuses, without appending it.</summary>
    private int Rollups(sqlite3_stmt statement, long id, long from, long to, SeriesSummary total, Func<SeriesSummary, bool>? accept = null)
    {
        if (to <= from)
        {
            return 0;
        }

        raw.sqlite3_bind_int64(statement, 1, id);
        raw.sqlite3_bind_int64(statement, 2, from);
        raw.sqlite3_bind_int64(statement, 3, to);
        try
        {
            QuantileSketch? sketch = null;
            var rows = 0;
            int rc;
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                // The numbers go through Append (one counter-reset rule for everyone); the sketch bytes are merged straight
                // into the total's sketch instead of being decoded into a sketch per row first.
                var row = RollupsTable.ReadRaw(statement, withSketch: false);
                if (accept is not null && !accept(row))
                {
                    return rows;
                }

                total.Append(row);
                sketch ??= total.Sketch;
                sketch.MergeFrom(raw.sqlite3_column_blob(statement, 9));
                rows++;
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
            }

            return rows;
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    private SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        return command;
    }
}
