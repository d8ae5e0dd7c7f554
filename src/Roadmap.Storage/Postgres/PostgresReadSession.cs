using Npgsql;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// Reads for one evaluation round on one connection. A window's summary is one round trip of four statements sent as
/// one <see cref="NpgsqlBatch"/> (one snapshot, see <see cref="Prepare"/>): the series' closed-days version; the hot
/// rows of both edges and whether raw samples older than the window remain; the chunks of both edges; every rollup
/// piece <see cref="WindowPlan"/> names (the edge hour, the hours and days between). Each finds the series by its
/// name, and the answers are combined here in time order. An edge whose UTC day is sealed into one day chunk is read
/// raw whole from that chunk and its hot rows (the compactor drops a sealed day's hour rollups); any other edge from
/// its ragged hour's raw samples and the hour rollups. The window's closed days are taken from
/// <see cref="ClosedDaysCache"/> where it holds them at the series' current closed-days version; when the version has
/// moved since, the window is read again without them. Fewer statements, not only fewer round trips: each execution
/// of a statement on a partitioned table costs the server a fixed amount of work. Not thread-safe.
/// </summary>
internal sealed class PostgresReadSession(PostgresStorage storage, NpgsqlConnection connection, ClosedDaysCache closedDays) : ISampleReadSession
{
    // Prepared once per session and reused for every KPI: only the parameter values change.
    private NpgsqlBatch? _raw;
    private NpgsqlBatch? _window;
    private bool _snapshots;

    /// <summary>The series, found by name inside each statement: no round trip of its own.</summary>
    private const string Series = "(SELECT id FROM series WHERE source = $1 AND signal = $2)";

    private const string RawSql = $"SELECT ts, value FROM samples WHERE series_id = {Series} AND ts >= $3 AND ts < $4 ORDER BY ts";

    /// <summary>The series' closed-days version (<see cref="ClosedDaysCache"/>), first in the batch: read before its days.</summary>
    private const string VersionSql = "SELECT closed_days_version FROM series WHERE source = $1 AND signal = $2";

    /// <summary>The rollup pieces in the order they are appended: part 0 the edge hour [$3, $4), 1 the hours [$4, $5),
    /// 2 the days [$8, $9) and [$10, $6) (the closed days not kept, see <see cref="ClosedDaysCache"/>, and the newest),
    /// 3 the hours [$6, $7); each row's start last.</summary>
    private static readonly string RollupsSql = $"""
        SELECT {PostgresRows.RollupColumns}, start_ts FROM (
            SELECT 0 AS part, * FROM rollups_hour WHERE series_id = {Series} AND start_ts >= $3 AND start_ts < $4
            UNION ALL SELECT 1, * FROM rollups_hour WHERE series_id = {Series} AND start_ts >= $4 AND start_ts < $5
            UNION ALL SELECT 2, * FROM rollups_day WHERE series_id = {Series} AND start_ts >= $8 AND start_ts < $9
            UNION ALL SELECT 2, * FROM rollups_day WHERE series_id = {Series} AND start_ts >= $10 AND start_ts < $6
            UNION ALL SELECT 3, * FROM rollups_hour WHERE series_id = {Series} AND start_ts >= $6 AND start_ts < $7) r
        ORDER BY part, start_ts
        """;

    /// <summary>A day chunk of the series covers the UTC day starting at the given bound: then that day's hour rollups
    /// are not authoritative (the compactor dropped them when it sealed the day; a late sample may have left a partial
    /// one) and the day is read raw from its chunk and hot rows.</summary>
    private static string DayChunkAt(string dayStart) =>
        $"EXISTS (SELECT 1 FROM chunks WHERE series_id = {Series} AND start_ts = {dayStart} AND end_ts = {dayStart} + {Day})";

    private static readonly string Day = ChunkedSamples.MaxRangeMs.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The hot rows of the raw edges, oldest first: the ragged head [$3, $4) and, when a day chunk covers the
    /// start edge's day, the rest of that edge [$4, $5); when a day chunk covers the end edge's day, [$6, $7), and the
    /// ragged tail [$7, $8); last, one row with a null ts when a sample at or before $3 remains, hot or sealed
    /// (retention has not reached the window's start). ($3 From, $4 FirstHour, $5 FirstDay, $6 LastDay, $7 LastHour,
    /// $8 End.)</summary>
    private static readonly string EdgesSql = $"""
        SELECT ts, value FROM (
            SELECT ts, value FROM samples WHERE series_id = {Series} AND ts >= $3 AND ts < $4
            UNION ALL SELECT ts, value FROM samples WHERE series_id = {Series} AND ts >= $4 AND ts < $5 AND {DayChunkAt($"$5 - {Day}")}
            UNION ALL SELECT ts, value FROM samples WHERE series_id = {Series} AND ts >= $6 AND ts < $7 AND {DayChunkAt("$6")}
            UNION ALL SELECT ts, value FROM samples WHERE series_id = {Series} AND ts >= $7 AND ts < $8
            UNION ALL SELECT NULL, NULL WHERE EXISTS (SELECT 1 FROM samples WHERE series_id = {Series} AND ts <= $3)
                OR EXISTS (SELECT 1 FROM chunks WHERE series_id = {Series} AND start_ts <= $3 AND min_ts <= $3)) e
        ORDER BY ts NULLS LAST
        """;

    /// <summary>The chunks overlapping [$3, $4) or [$5, $6), oldest first (a chunk covers at most a day).</summary>
    private static readonly string EdgeChunksSql = FormattableString.Invariant($"""
        SELECT data FROM chunks WHERE series_id = {Series} AND (
            (start_ts > $3 - {Chunks.ChunkedSamples.MaxRangeMs} AND start_ts < $4 AND end_ts > $3)
            OR (start_ts > $5 - {Chunks.ChunkedSamples.MaxRangeMs} AND start_ts < $6 AND end_ts > $5))
        ORDER BY start_ts
        """);

    /// <summary>The chunks of a window's edges, oldest first, with their ranges: those overlapping the ragged hours
    /// [$3, $4) and [$7, $8), and the day chunk of each edge's UTC day (the start edge [$3, $5) when $3 &lt; $5, the end
    /// edge [$6, $8) when $6 &lt; $8), which is the one overlapping its ragged hour anyway when the edge is ragged.</summary>
    private static readonly string WindowChunksSql = $"""
        SELECT data, start_ts, end_ts FROM chunks WHERE series_id = {Series} AND (
            (start_ts > $3 - {Day} AND start_ts < $4 AND end_ts > $3)
            OR (start_ts > $7 - {Day} AND start_ts < $8 AND end_ts > $7)
            OR ($3 < $5 AND start_ts = $5 - {Day} AND end_ts = $5)
            OR ($6 < $8 AND start_ts = $6 AND end_ts = $6 + {Day}))
        ORDER BY start_ts
        """;

    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to) => Run(() =>
    {
        var points = new List<Point>();
        ReadRaw(source, signal, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds() + 1, points.Add);
        return points;
    });

    /// <summary>The samples with from &lt;= ts &lt; to: the hot rows and the chunks overlapping the range, merged.</summary>
    private void ReadRaw(string source, string signal, long from, long end, Action<Point> add)
    {
        var batch = Bind(_raw ??= Prepare((RawSql, 2), (EdgeChunksSql, 4)), source, signal, from, end, from, end, from, end);
        using var r = batch.ExecuteReader();
        var hot = new List<Point>();
        while (r.Read())
        {
            hot.Add(new Point(r.GetInt64(0), r.GetDouble(1)));
        }

        r.NextResult();
        ChunkedSamples.Merge(Blobs(r), hot, from, end, add);
    }

    private static List<byte[]> Blobs(NpgsqlDataReader r)
    {
        var blobs = new List<byte[]>();
        while (r.Read())
        {
            blobs.Add(r.GetFieldValue<byte[]>(0));
        }

        return blobs;
    }

    /// <remarks>Ignores <paramref name="reads"/>: its one batch per window reads exactly (<see cref="WindowReads"/>).</remarks>
    public SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to, WindowReads reads = WindowReads.Exact) => Run(() =>
    {
        var plan = WindowPlan.Of(from, to);
        return SummarizeWindow(source, signal, plan, takeKept: true) ?? SummarizeWindow(source, signal, plan, takeKept: false)!;
    });

    /// <summary>The window's summary; null when <paramref name="takeKept"/> and the closed days kept are of another
    /// version than the series' now (then they are read again).</summary>
    private SeriesSummary? SummarizeWindow(string source, string signal, WindowPlan plan, bool takeKept)
    {
        var total = SeriesSummary.Empty();
        if (plan.End <= plan.From)
        {
            return total;
        }

        if (plan.Raw)
        {
            ReadRaw(source, signal, plan.From, plan.End, total.Add);
            return total;
        }

        // The closed days [FirstDay, kept) in segments kept between rounds: the rows of those not kept are read, i.e.
        // the first segment's (it changes daily) and every one from the first other segment not kept on.
        var kept = Math.Max(plan.FirstDay, closedDays.KeptEnd(plan));
        var segments = ClosedDaysCache.Segments(plan.FirstDay, kept);
        var read = new SeriesSummary?[segments.Count];
        var readFrom = segments.Count; // the first segment after the first one that is read: all from it on are
        for (var i = 0; i < segments.Count; i++)
        {
            if ((i > 0 && readFrom < segments.Count) || !takeKept || !closedDays.Holds(source, signal, segments[i].From, segments[i].To))
            {
                read[i] = SeriesSummary.Empty();
                readFrom = i > 0 ? Math.Min(readFrom, i) : readFrom;
            }
        }

        var headEnd = read is [not null, ..] ? segments[0].To : plan.FirstDay;
        var restFrom = readFrom < segments.Count ? segments[readFrom].From : kept;

        // An empty range (from == to) reads nothing: the edge hour's rollup unless the start is ragged.
        var edgeHour = plan.RaggedStart ? plan.EdgeHour : plan.FirstHour;
        var batch = Bind(
            _window ??= Prepare((VersionSql, 0), (EdgesSql, 6), (WindowChunksSql, 6), (RollupsSql, 8)),
            source,
            signal,
            plan.From, plan.FirstHour, plan.FirstDay, plan.LastDay, plan.LastHour, plan.End,
            plan.From, plan.FirstHour, plan.FirstDay, plan.LastDay, plan.LastHour, plan.End,
            edgeHour, plan.FirstHour, plan.FirstDay, plan.LastDay, plan.LastHour, plan.FirstDay, headEnd, restFrom);
        using var r = batch.ExecuteReader();
        if (!r.Read())
        {
            return total; // no such series
        }

        var version = r.GetInt64(0);
        r.NextResult();
        var hotHead = new List<Point>();
        var hotTail = new List<Point>();
        var rawRemains = false;
        while (r.Read())
        {
            if (r.IsDBNull(0))
            {
                rawRemains = true;
                continue;
            }

            var p = new Point(r.GetInt64(0), r.GetDouble(1));
            (p.TimestampMs < plan.FirstDay ? hotHead : hotTail).Add(p);
        }

        // The edges' sealed samples: the chunks read, decoded once for both. An edge whose UTC day is one chunk is read
        // raw whole (its hour rollups are not authoritative); else its ragged hour is, and its whole hours are rollups.
        r.NextResult();
        var blobs = new List<byte[]>();
        var startSealed = false;
        var endSealed = false;
        while (r.Read())
        {
            blobs.Add(r.GetFieldValue<byte[]>(0));
            var (start, end) = (r.GetInt64(1), r.GetInt64(2));
            startSealed |= plan.From < plan.FirstDay && start == plan.FirstDay - ChunkedSamples.MaxRangeMs && end == plan.FirstDay;
            endSealed |= plan.LastDay < plan.End && start == plan.LastDay && end == plan.LastDay + ChunkedSamples.MaxRangeMs;
        }

        var sealedPoints = blobs.SelectMany(ChunkedSamples.Decode).ToList();
        var head = new List<Point>();
        ChunkedSamples.Merge(sealedPoints, hotHead, plan.From, startSealed ? plan.FirstDay : plan.FirstHour, head.Add);
        var tail = SeriesSummary.Empty();
        ChunkedSamples.Merge(sealedPoints, hotTail, endSealed ? plan.LastDay : plan.LastHour, plan.End, tail.Add);
        r.NextResult();
        // A ragged start reads its raw samples while some at or before it remain; once retention removed them, the
        // edge hour's whole rollup stands in (the documented approximation). Rows of part 0 come first. A sealed start
        // day has its raw samples all there (retention deletes a day chunk whole).
        var useEdgeRollup = plan.RaggedStart && !rawRemains && !startSealed;
        if (!useEdgeRollup)
        {
            foreach (var p in head)
            {
                total.Add(p);
            }
        }

        // The rows of the days [kept, LastDay) and the hours after them, appended once the segments are: one by one, in
        // the order SQLite's reader appends them, so both backends add the same sums in the same order.
        var newest = new List<(SeriesSummary Numbers, byte[] Sketch)>();
        var segment = 0;
        while (r.Read())
        {
            var start = r.GetInt64(10);
            if ((start < plan.FirstHour && !useEdgeRollup) || (start < plan.FirstDay && startSealed) || (start >= plan.LastDay && endSealed))
            {
                continue; // an edge's hour rollup not needed: its raw samples were read
            }

            if (start < plan.FirstDay)
            {
                Add(total, r);
            }
            else if (start < kept)
            {
                while (segments[segment].To <= start)
                {
                    segment++;
                }

                Add(read[segment]!, r); // only segments being read have rows
            }
            else
            {
                newest.Add((PostgresRows.Rollup(r, withSketch: false), r.GetFieldValue<byte[]>(9)));
            }
        }

        // In time order: the edges and hours so far, the segments (read now, or kept at this version), the rest.
        for (var i = 0; i < segments.Count; i++)
        {
            var (from, to) = segments[i];
            if (read[i] is { } fresh)
            {
                closedDays.Put(source, signal, from, to, version, fresh);
                total.Append(fresh);
            }
            else if (!closedDays.TryAppend(source, signal, from, to, version, total))
            {
                return null; // written since it was kept: read the days again
            }
        }

        foreach (var (numbers, sketch) in newest)
        {
            total.Append(numbers);
            total.Sketch.MergeFrom(sketch);
        }

        total.Append(tail);
        return total;
    }

    /// <summary>Appends the reader's rollup row to <paramref name="summary"/>: the numbers through Append (one
    /// counter-reset rule for everyone), the sketch bytes merged straight into its sketch instead of being decoded
    /// into a sketch per row first.</summary>
    private static void Add(SeriesSummary summary, NpgsqlDataReader r)
    {
        summary.Append(PostgresRows.Rollup(r, withSketch: false));
        summary.Sketch.MergeFrom(r.GetFieldValue<byte[]>(9));
    }

    public SourceState? PollState(string source, SourceState? previous = null) => Run(() =>
    {
        (long, bool, string?)? last = null;
        using (var cmd = Command("SELECT ts, outcome, reason FROM polls WHERE source = $1 ORDER BY ts DESC LIMIT 1;", source))
        using (var r = cmd.ExecuteReader())
        {
            if (r.Read())
            {
                last = (r.GetInt64(0), r.GetString(1) == "success", r.IsDBNull(2) ? null : r.GetString(2));
            }
        }

        return PollStates.From(
            last,
            previous,
            after => After("SELECT ts FROM polls WHERE source = $1 AND ts > $2 AND outcome = 'success' ORDER BY ts DESC LIMIT 1;", source, after),
            after => After("SELECT ts FROM polls WHERE source = $1 AND ts > $2 ORDER BY ts LIMIT 1;", source, after));
    });

    public void Dispose()
    {
        _raw?.Dispose();
        _window?.Dispose();
        if (_snapshots && connection.State == System.Data.ConnectionState.Open)
        {
            try
            {
                // The connection goes back to the pool: its next user gets the server's default again, whatever the
                // pool's reset on close is set to.
                using var reset = new NpgsqlCommand("RESET default_transaction_isolation;", connection);
                reset.ExecuteNonQuery();
            }
            catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
            {
                // A broken connection is not reused by the pool.
            }
        }

        connection.Dispose();
    }

    private T Run<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
        {
            if (PostgresFailures.IsConnectionLost(e))
            {
                storage.ForgetConnections();
            }

            throw PostgresFailures.Wrap(e);
        }
    }

    /// <summary>A batch of statements, each taking source ($1), signal ($2) and the given number of bigints, prepared.</summary>
    private NpgsqlBatch Prepare(params (string Sql, int Longs)[] statements)
    {
        if (!_snapshots)
        {
            // A batch runs as one implicit transaction; under repeatable read its statements share one snapshot, so
            // the statement that finds an edge's day sealed and the one reading that day's hour rollups (which the
            // seal drops in its transaction) agree even when a seal commits between them. Single statements are
            // unaffected: each is its own transaction.
            using var isolation = new NpgsqlCommand("SET default_transaction_isolation = 'repeatable read';", connection);
            isolation.ExecuteNonQuery();
            _snapshots = true;
        }

        var batch = new NpgsqlBatch(connection);
        foreach (var (sql, longs) in statements)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<string>());
            command.Parameters.Add(new NpgsqlParameter<string>());
            for (var i = 0; i < longs; i++)
            {
                command.Parameters.Add(new NpgsqlParameter<long>());
            }

            batch.BatchCommands.Add(command);
        }

        batch.Prepare();
        return batch;
    }

    /// <summary>Sets every statement's source and signal, and the bigints in order across the statements.</summary>
    private static NpgsqlBatch Bind(NpgsqlBatch batch, string source, string signal, params long[] values)
    {
        var next = 0;
        foreach (var command in batch.BatchCommands)
        {
            var p = command.Parameters;
            ((NpgsqlParameter<string>)p[0]).TypedValue = source;
            ((NpgsqlParameter<string>)p[1]).TypedValue = signal;
            for (var i = 2; i < p.Count; i++)
            {
                ((NpgsqlParameter<long>)p[i]).TypedValue = values[next++];
            }
        }

        return batch;
    }

    private NpgsqlCommand Command(string sql, string source)
    {
        var cmd = new NpgsqlCommand(sql, connection);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source });
        return cmd;
    }

    private long? After(string sql, string source, long after)
    {
        using var cmd = Command(sql, source);
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        return cmd.ExecuteScalar() is long ts ? ts : null;
    }


}
