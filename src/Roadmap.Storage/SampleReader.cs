using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>Reads stored samples and polls. Thread-safe: each call uses its own pooled connection; for many reads in a
/// row (an evaluation round) use <see cref="OpenSession"/>.</summary>
public sealed class SampleReader(RoadmapDatabase database)
{
    /// <summary>The samples of one signal with from &lt;= ts &lt;= to, oldest first.</summary>
    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        using var session = OpenSession();
        return session.Read(source, signal, from, to);
    }

    /// <summary>The summary of one signal's samples with from &lt;= ts &lt;= to; see <see cref="SampleReadSession.Summarize"/>.</summary>
    public SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        using var session = OpenSession();
        return session.Summarize(source, signal, from, to);
    }

    /// <summary>One connection and its prepared statements for many reads; not thread-safe, dispose when done.</summary>
    public SampleReadSession OpenSession() => new(database.OpenConnection());

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
