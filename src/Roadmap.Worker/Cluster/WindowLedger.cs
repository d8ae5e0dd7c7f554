using Roadmap.Storage;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// What this replica knows it owns: its shard windows, read back from the database (the one record of ownership), and
/// the owners of the evaluation windows. Read on every poll, so a lookup takes no lock: each refresh swaps in a new
/// immutable view.
/// </summary>
public sealed class WindowLedger(string node)
{
    private volatile View _view = new(new HashSet<(int, long)>(), new Dictionary<long, string>(), 0);

    /// <summary>This replica's instance id.</summary>
    public string Node { get; } = node;

    /// <summary>Whether this replica owns the window of <paramref name="shard"/> that starts at <paramref name="windowStart"/>.</summary>
    public bool Owns(int shard, long windowStart) => _view.Mine.Contains((shard, windowStart));

    /// <summary>The owner of the evaluation window starting at <paramref name="windowStart"/>, if it is known.</summary>
    public string? EvaluatorOf(long windowStart) => _view.Evaluators.GetValueOrDefault(windowStart);

    /// <summary>The end (unix ms) of the last data window this replica owns; 0 when it owns none.</summary>
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

    /// <summary>Replaces the view with what the database says from some time on.</summary>
    /// <param name="owned">This replica's windows and every evaluation window's owner (<see cref="IClusterStore.Owned"/>).</param>
    /// <param name="windowMs">The data windows' length, for <see cref="LastEnd"/>.</param>
    public void Replace(IReadOnlyList<ShardWindow> owned, long windowMs)
    {
        var mine = new HashSet<(int, long)>();
        var evaluators = new Dictionary<long, string>();
        long lastEnd = 0;
        foreach (var w in owned)
        {
            if (w.Shard == IClusterStore.EvaluationShard)
            {
                evaluators[w.Start] = w.Node;
            }
            else if (w.Node == Node)
            {
                mine.Add((w.Shard, w.Start));
                lastEnd = Math.Max(lastEnd, w.Start + windowMs);
            }
        }

        _view = new View(mine, evaluators, lastEnd);
    }

    /// <summary>Adds windows this replica just claimed for itself, before the next read-back.</summary>
    public void Add(IEnumerable<ShardWindow> claimed, long windowMs)
    {
        var view = _view;
        var mine = new HashSet<(int, long)>(view.Mine);
        var evaluators = new Dictionary<long, string>(view.Evaluators);
        var lastEnd = view.LastEnd;
        foreach (var w in claimed)
        {
            if (w.Shard == IClusterStore.EvaluationShard)
            {
                evaluators.TryAdd(w.Start, w.Node);
            }
            else if (w.Node == Node)
            {
                mine.Add((w.Shard, w.Start));
                lastEnd = Math.Max(lastEnd, w.Start + windowMs);
            }
        }

        _view = new View(mine, evaluators, lastEnd);
    }

    private sealed record View(HashSet<(int Shard, long Start)> Mine, Dictionary<long, string> Evaluators, long LastEnd);
}
