using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>Reads stored samples and polls. Thread-safe: each call uses its own pooled connection.</summary>
public sealed class SampleReader(RoadmapDatabase database)
{
    /// <summary>The samples of one signal with from &lt;= ts &lt;= to, oldest first.</summary>
    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        using var c = database.OpenConnection();
        return SeriesTable.Find(c, source, signal) is { } id
            ? SamplesTable.Range(c, id, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds())
            : [];
    }

    public IReadOnlyList<StoredPoll> Polls(string source, DateTimeOffset from, DateTimeOffset to)
    {
        using var c = database.OpenConnection();
        return PollsTable.Range(c, source, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds());
    }

    /// <summary>How many polls are stored, for one source or all.</summary>
    public long CountPolls(string? source = null)
    {
        using var c = database.OpenConnection();
        return PollsTable.Count(c, source);
    }
}
