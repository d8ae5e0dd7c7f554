using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>A backend's <see cref="ISampleReader"/>: single reads go through a session of their own.</summary>
internal abstract class SessionSampleReader : ISampleReader
{
    public IReadOnlyList<Point> Read(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        using var session = OpenSession();
        return session.Read(source, signal, from, to);
    }

    public SeriesSummary Summarize(string source, string signal, DateTimeOffset from, DateTimeOffset to)
    {
        using var session = OpenSession();
        return session.Summarize(source, signal, from, to);
    }

    public abstract ISampleReadSession OpenSession();

    public abstract IReadOnlyList<StoredPoll> Polls(string source, DateTimeOffset from, DateTimeOffset to);

    public abstract long CountPolls(string? source = null);
}
