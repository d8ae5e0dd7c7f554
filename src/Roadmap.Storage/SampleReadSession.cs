using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// Reads for one evaluation round: one connection and prepared statements reused across every KPI (opening a
/// connection per read is too slow for a thousand KPIs a round). Not thread-safe. Series ids are cached for the
/// session's life: a series created meanwhile is seen by the next session.
/// </summary>
public sealed class SampleReadSession : IDisposable
{
    private const long HourMs = 3_600_000;
    private const long DayMs = 86_400_000;
    private readonly SqliteConnection _connection;
    private readonly Dictionary<(string, string), long?> _series = [];
    private readonly SqliteCommand _findSeries;
    private readonly SqliteCommand _raw;
    private readonly SqliteCommand _oldest;
    private readonly SqliteCommand _hours;
    private readonly SqliteCommand _days;
    private readonly SqliteCommand _lastPoll;
    private readonly SqliteCommand _lastSuccess;
    private readonly SqliteCommand _firstPollAfter;

    internal SampleReadSession(SqliteConnection connection)
    {
        _connection = connection;
        _findSeries = Prepare("SELECT id FROM series WHERE source = $source AND signal = $signal;", ("$source", SqliteType.Text), ("$signal", SqliteType.Text));
        _raw = Prepare("SELECT ts, value FROM samples WHERE series_id = $series AND ts >= $from AND ts < $to ORDER BY ts;", ("$series", SqliteType.Integer), ("$from", SqliteType.Integer), ("$to", SqliteType.Integer));
        _oldest = Prepare("SELECT ts FROM samples WHERE series_id = $series ORDER BY ts LIMIT 1;", ("$series", SqliteType.Integer));
        _hours = Prepare(RollupsTable.SelectRange(RollupLevel.Hour), ("$series", SqliteType.Integer), ("$from", SqliteType.Integer), ("$to", SqliteType.Integer));
        _days = Prepare(RollupsTable.SelectRange(RollupLevel.Day), ("$series", SqliteType.Integer), ("$from", SqliteType.Integer), ("$to", SqliteType.Integer));
        _lastPoll = Prepare(PollsTable.SelectLast, ("$source", SqliteType.Text));
        _lastSuccess = Prepare(PollsTable.SelectLastSuccessAfter, ("$source", SqliteType.Text), ("$after", SqliteType.Integer));
        _firstPollAfter = Prepare(PollsTable.SelectFirstAfter, ("$source", SqliteType.Text), ("$after", SqliteType.Integer));
    }

    /// <summary>The samples of one signal with from &lt;= ts &lt;= to, oldest first.</summary>
    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        var points = new List<Point>();
        if (SeriesId(source, signal) is { } id)
        {
            ReadRaw(id, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds() + 1, points.Add);
        }

        return points;
    }

    /// <summary>
    /// The summary of one signal's samples with from &lt;= ts &lt;= to. A span shorter than a day is read raw (exact,
    /// with exact quantiles). A day or more: the raw samples of the partial hours at each edge, hour rollups up to
    /// the UTC day boundaries, and day rollups for the whole UTC days between; count, sum, min, max, first, last and
    /// increase are exact, quantiles come from the merged sketches (within <see cref="QuantileSketch.RelativeAccuracy"/>).
    /// Where retention already deleted the raw samples of the starting edge, that edge's whole hour rollup stands in:
    /// the result then includes samples up to an hour before <paramref name="from"/> (approximate at that edge).
    /// </summary>
    public SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        var total = SeriesSummary.Empty();
        var f = from.ToUnixTimeMilliseconds();
        var end = to.ToUnixTimeMilliseconds() + 1;
        if (end <= f || SeriesId(source, signal) is not { } id)
        {
            return total;
        }

        if (end - f < DayMs)
        {
            ReadRaw(id, f, end, total.Add);
            return total;
        }

        var h1 = CeilTo(f, HourMs);
        var h2 = FloorTo(end, HourMs);
        var d1 = CeilTo(h1, DayMs);
        var d2 = FloorTo(h2, DayMs);
        if (d1 > d2)
        {
            d1 = d2 = h2; // no whole UTC day inside: hours all the way
        }

        if (f < h1 && !(Oldest(id) is { } oldest && oldest <= f))
        {
            Rollups(_hours, id, FloorTo(f, HourMs), h1, total);
        }
        else
        {
            ReadRaw(id, f, h1, total.Add);
        }

        Rollups(_hours, id, h1, d1, total);
        Rollups(_days, id, d1, d2, total);
        Rollups(_hours, id, d2, h2, total);
        var tail = SeriesSummary.Empty();
        ReadRaw(id, h2, end, tail.Add);
        total.Append(tail);
        return total;
    }

    /// <summary>
    /// What the stored polls say about <paramref name="source"/>: its last poll, last success, and while its last poll
    /// failed, since when its polls fail and the last reason (as stored: redacted when it was polled). Null when no
    /// poll of it is stored. A failure run older than raw retention is dated from its oldest stored poll.
    /// </summary>
    /// <param name="previous">This session's or an earlier one's answer for the same source: while it was failing,
    /// only the polls after its last one are searched for a success, so a long run of failures is not read again
    /// every round.</param>
    public SourceState? PollState(string source, SourceState? previous = null)
    {
        _lastPoll.Parameters[0].Value = source;
        long ts;
        bool success;
        string? reason;
        using (var r = _lastPoll.ExecuteReader())
        {
            if (!r.Read())
            {
                return null;
            }

            (ts, success, reason) = (r.GetInt64(0), r.GetString(1) == "success", r.IsDBNull(2) ? null : r.GetString(2));
        }

        var last = DateTimeOffset.FromUnixTimeMilliseconds(ts);
        if (success)
        {
            return new SourceState(last, last, null, null);
        }

        var known = previous is { Failing: true } p && p.LastPoll <= last ? p : null;
        var lastSuccess = Scalar(_lastSuccess, source, known?.LastPoll.ToUnixTimeMilliseconds() ?? long.MinValue);
        if (known is not null && lastSuccess is null)
        {
            return known with { LastPoll = last, LastError = reason };
        }

        // The first poll after the last success (or the first stored poll) started the run of failures.
        var since = Scalar(_firstPollAfter, source, lastSuccess ?? long.MinValue) ?? ts;
        return new SourceState(
            last,
            lastSuccess is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
            DateTimeOffset.FromUnixTimeMilliseconds(since),
            reason);
    }

    public void Dispose()
    {
        _lastPoll.Dispose();
        _lastSuccess.Dispose();
        _firstPollAfter.Dispose();
        _findSeries.Dispose();
        _raw.Dispose();
        _oldest.Dispose();
        _hours.Dispose();
        _days.Dispose();
        _connection.Dispose();
    }

    private static long FloorTo(long ts, long size) => ts - (((ts % size) + size) % size);

    private static long CeilTo(long ts, long size) => FloorTo(ts + size - 1, size);

    private long? SeriesId(string source, string signal)
    {
        if (!_series.TryGetValue((source, signal), out var id))
        {
            _findSeries.Parameters[0].Value = source;
            _findSeries.Parameters[1].Value = signal;
            id = _findSeries.ExecuteScalar() is long found ? found : null;
            // Only a known series is cached: one created later in the round is found on the next read.
            if (id is not null)
            {
                _series[(source, signal)] = id;
            }
        }

        return id;
    }

    private static long? Scalar(SqliteCommand command, string source, long after)
    {
        command.Parameters[0].Value = source;
        command.Parameters[1].Value = after;
        return command.ExecuteScalar() is long ts ? ts : null;
    }

    private long? Oldest(long id)
    {
        _oldest.Parameters[0].Value = id;
        return _oldest.ExecuteScalar() is long ts ? ts : null;
    }

    private void ReadRaw(long id, long from, long to, Action<Point> add)
    {
        if (to <= from)
        {
            return;
        }

        _raw.Parameters[0].Value = id;
        _raw.Parameters[1].Value = from;
        _raw.Parameters[2].Value = to;
        using var r = _raw.ExecuteReader();
        while (r.Read())
        {
            add(new Point(r.GetInt64(0), r.GetDouble(1)));
        }
    }

    private static void Rollups(SqliteCommand command, long id, long from, long to, SeriesSummary total)
    {
        if (to <= from)
        {
            return;
        }

        command.Parameters[0].Value = id;
        command.Parameters[1].Value = from;
        command.Parameters[2].Value = to;
        using var r = command.ExecuteReader();
        QuantileSketch? sketch = null;
        while (r.Read())
        {
            // The numbers go through Append (one counter-reset rule for everyone); the sketch bytes are merged straight
            // into the total's sketch instead of being decoded into a sketch per row first: a 30-day window is ~75 rows.
            total.Append(RollupsTable.Read(r, withSketch: false));
            sketch ??= total.Sketch;
            sketch.MergeFrom(r.GetFieldValue<byte[]>(9));
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
