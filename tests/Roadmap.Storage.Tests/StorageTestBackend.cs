using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

/// <summary>
/// One backend under test: a fresh, empty store of its own, opened (and opened again, as after a restart) through the
/// seam, plus the few direct looks at its tables that the shared storage tests compare against. Each backend has one
/// subclass; each shared test class (<see cref="BatchedWriterTests"/>, <see cref="RollupTests"/>,
/// <see cref="EvaluationStoreTests"/>) has one concrete subclass per backend.
/// </summary>
public abstract class StorageTestBackend : IDisposable
{
    /// <summary>Opens (the first time: creates and migrates) this test's store.</summary>
    public abstract IRoadmapStorage Open();

    /// <summary>The rows of a table (by its name in the schema: polls, series, evaluations, ...); for samples, every
    /// stored sample, hot or sealed in a chunk.</summary>
    public abstract long Count(string table);

    /// <summary>Every stored sample as (series id, ts, value), ordered by series and ts: the chunks' and the hot rows' merged.</summary>
    public abstract IReadOnlyList<(long Series, long Ts, double Value)> Samples();

    /// <summary>The rows of the hot samples table alone (not sealed in a chunk yet).</summary>
    public abstract long HotSamples();

    /// <summary>The (series id, day start) of every day chunk: a chunk of exactly one UTC day, which answers for that
    /// day's hours.</summary>
    public abstract HashSet<(long Series, long DayStart)> DayChunks();

    /// <summary>Every stored rollup bucket of one level, by (series id, start).</summary>
    public abstract Dictionary<(long Series, long Start), SeriesSummary> Rollups(RollupLevel level);

    /// <summary>Runs statements in this test's store, as another client would (behind the library's back).</summary>
    public abstract void Execute(string sql);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
