using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>All SQL on the series table.</summary>
internal static class SeriesTable
{
    public static long GetOrCreate(SqliteConnection c, SqliteTransaction tx, string source, string signal) =>
        c.ExecuteScalar<long?>("SELECT id FROM series WHERE source = @source AND signal = @signal;", new { source, signal }, tx)
        ?? c.ExecuteScalar<long>("INSERT INTO series (source, signal) VALUES (@source, @signal) RETURNING id;", new { source, signal }, tx);

    public static long? Find(SqliteConnection c, string source, string signal) =>
        c.ExecuteScalar<long?>("SELECT id FROM series WHERE source = @source AND signal = @signal;", new { source, signal });
}

/// <summary>All SQL on the samples table.</summary>
internal static class SamplesTable
{
    public const string Insert = "INSERT INTO samples (series_id, ts, value) VALUES ($series, $ts, $value);";

    public static List<Point> Range(SqliteConnection c, long seriesId, long fromMs, long toMs) =>
        c.Query<(long Ts, double Value)>(
            "SELECT ts, value FROM samples WHERE series_id = @seriesId AND ts >= @fromMs AND ts <= @toMs ORDER BY ts;",
            new { seriesId, fromMs, toMs })
        .Select(r => new Point(r.Ts, r.Value))
        .ToList();
}

/// <summary>All SQL on the polls table.</summary>
internal static class PollsTable
{
    public const string Insert = "INSERT INTO polls (source, ts, duration_ms, outcome, reason) VALUES ($source, $ts, $duration, $outcome, $reason);";

    public static List<StoredPoll> Range(SqliteConnection c, string source, long fromMs, long toMs) =>
        c.Query<StoredPoll>(
            "SELECT source AS Source, ts AS TimestampMs, duration_ms AS DurationMs, outcome AS Outcome, reason AS Reason FROM polls WHERE source = @source AND ts >= @fromMs AND ts <= @toMs ORDER BY ts;",
            new { source, fromMs, toMs })
        .ToList();

    public static long Count(SqliteConnection c, string? source) =>
        source is null
            ? c.ExecuteScalar<long>("SELECT count(*) FROM polls;")
            : c.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE source = @source;", new { source });
}

/// <summary>A poll as read back.</summary>
public sealed record StoredPoll(string Source, long TimestampMs, double DurationMs, string Outcome, string? Reason);
