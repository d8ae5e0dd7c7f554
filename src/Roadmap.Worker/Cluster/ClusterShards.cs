namespace Roadmap.Worker.Cluster;

/// <summary>Which shard a source is in, and which replica is a shard's home: pure functions every replica agrees on.</summary>
public static class ClusterShards
{
    /// <summary>The shard of a source: FNV-1a of its id, modulo <paramref name="shards"/> (stable across processes and restarts).</summary>
    public static int Of(string sourceId, int shards) => (int)(Fnv(sourceId) % (uint)shards);

    /// <summary>
    /// The home of <paramref name="shard"/> among <paramref name="nodes"/> by rendezvous (highest random weight)
    /// hashing: a node joining or leaving moves only the shards it gains or loses, about 1/N of them. Null when there
    /// is no node.
    /// </summary>
    public static string? Home(int shard, IReadOnlyList<string> nodes)
    {
        string? best = null;
        ulong bestScore = 0;
        foreach (var node in nodes)
        {
            var score = Mix(((ulong)Fnv(node) << 32) ^ (uint)shard);
            if (best is null || score > bestScore || (score == bestScore && string.CompareOrdinal(node, best) < 0))
            {
                (best, bestScore) = (node, score);
            }
        }

        return best;
    }

    /// <summary>The start (unix ms) of the window of length <paramref name="windowMs"/> that holds <paramref name="ms"/>.</summary>
    public static long WindowStart(long ms, long windowMs) => ms - (((ms % windowMs) + windowMs) % windowMs);

    private static uint Fnv(string text)
    {
        // FNV-1a: string.GetHashCode is randomized per process, and every replica must compute the same value.
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    // SplitMix64's finalizer: FNV's low bits alone would give neighbouring shards the same home.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
