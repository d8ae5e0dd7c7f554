using Roadmap.Storage;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// What this replica knows it owns: its shard windows, read back from the database (the one record of ownership), and
/// the owners of the evaluation windows. Read on every poll, so a lookup takes no lock: each refresh swaps in a new
/// immutable view.
/// </summary>
public sealed class WindowLedger(string node, long evaluationMs = 0)
{
    private readonly Lock _write = new();
    private readonly List<(long Version, IReadOnlyList<ShardWindow> Windows)> _added = [];
    private volatile View _view = new(new HashSet<(int, long)>(), new Dictionary<long, string>(), 0);
    private long _version;

    /// <summary>The evaluation windows' length: an owned one counts in <see cref="LastEnd"/>. 0: not counted.</summary>
    public long EvaluationMs { get; } = evaluationMs;

    /// <summary>This replica's instance id.</summary>
    public string Node { get; } = node;

    /// <summary>Whether this replica owns the window of <paramref name="shard"/> that starts at <paramref name="windowStart"/>.</summary>
    public bool Owns(int shard, long windowStart) => _view.Mine.Contains((shard, windowStart));

    /// <summary>The owner of the evaluation window starting at <paramref name="windowStart"/>, if it is known.</summary>
    public string? EvaluatorOf(long windowStart) => _view.Evaluators.GetValueOrDefault(windowStart);

    /// <summary>The end (unix ms) of the last window (data, or evaluation when <see cref="EvaluationMs"/> is set) this replica owns; 0 when it owns none.</summary>
    public long LastEnd => _view.LastEnd;

    /// <summary>How many distinct shards this replica owns a window of that holds <paramref name="ms"/>.</summary>
    public int ShardsHeldAt(long ms, long windowMs)
    {
        var start = ClusterShards.WindowStart(ms, windowMs);
        var held = 0;
        foreach (var (_, s) in _view.Mine)
        {
            if (s == start)
            {
                held++;
            }
        }

        return held;
    }

    /// <summary>Counts the <see cref="Add"/> calls: a read-back started at one version keeps what was added after it.</summary>
    public long Version
    {
        get
        {
            lock (_write)
            {
                return _version;
            }
        }
    }

    /// <summary>Replaces the view with what the database says from some time on.</summary>
    /// <param name="owned">This replica's windows and every evaluation window's owner (<see cref="IClusterStore.Owned"/>).</param>
    /// <param name="windowMs">The data windows' length, for <see cref="LastEnd"/>.</param>
    /// <param name="readSince">The <see cref="Version"/> taken before the database was read: windows added after it
    /// (claimed and committed while the read ran) are kept, not dropped until the next read-back.</param>
    public void Replace(IReadOnlyList<ShardWindow> owned, long windowMs, long readSince)
    {
        lock (_write)
        {
            _added.RemoveAll(a => a.Version <= readSince);
            _view = Build(new View([], [], 0), owned.Concat(_added.SelectMany(a => a.Windows)), windowMs);
        }
    }

    /// <summary>Adds windows this replica just claimed for itself, before the next read-back.</summary>
    public void Add(IReadOnlyList<ShardWindow> claimed, long windowMs)
    {
        lock (_write)
        {
            _version++;
            _added.Add((_version, claimed));
            _view = Build(_view, claimed, windowMs);
        }
    }

    private View Build(View from, IEnumerable<ShardWindow> windows, long windowMs)
    {
        var mine = new HashSet<(int, long)>(from.Mine);
        var evaluators = new Dictionary<long, string>(from.Evaluators);
        var lastEnd = from.LastEnd;
        foreach (var w in windows)
        {
            if (w.Shard == IClusterStore.EvaluationShard)
            {
                evaluators[w.Start] = w.Node;
                if (w.Node == Node)
                {
                    lastEnd = Math.Max(lastEnd, w.Start + EvaluationMs);
                }
            }
            else if (w.Node == Node)
            {
                mine.Add((w.Shard, w.Start));
                lastEnd = Math.Max(lastEnd, w.Start + windowMs);
            }
        }

        return new View(mine, evaluators, lastEnd);
    }

    private sealed record View(HashSet<(int Shard, long Start)> Mine, Dictionary<long, string> Evaluators, long LastEnd);
}
