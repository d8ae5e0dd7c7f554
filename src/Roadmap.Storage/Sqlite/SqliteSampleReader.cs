namespace Roadmap.Storage.Sqlite;

/// <summary>Reads stored samples and polls from the SQLite file. Thread-safe: each call uses its own pooled
/// connection; for many reads in a row (an evaluation round) use <see cref="OpenSession"/>.</summary>
/// <param name="closedDays">The merged day rollups its sessions keep between rounds.</param>
internal sealed class SqliteSampleReader(RoadmapDatabase database, ClosedDaysCache closedDays) : SessionSampleReader
{
    public override ISampleReadSession OpenSession() => SqliteFailures.Run(() => new SqliteReadSession(database.OpenConnection(), closedDays));

    public override IReadOnlyList<StoredPoll> Polls(string source, DateTimeOffset from, DateTimeOffset to) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return PollsTable.Range(c, source, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds());
    });

    public override long CountPolls(string? source = null) => SqliteFailures.Run(() =>
    {
        using var c = database.OpenConnection();
        return PollsTable.Count(c, source);
    });
}
