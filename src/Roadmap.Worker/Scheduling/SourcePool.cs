using Roadmap.Sources;

namespace Roadmap.Worker.Scheduling;

/// <summary>
/// The live sources, by id. A poll borrows its source with <see cref="Acquire"/>; a reload replaces or removes
/// sources with <see cref="Swap"/>, and a replaced source is disposed only once its last poll has returned it, so a
/// reload never pulls a source out from under a running poll. What is left is disposed with the host.
/// </summary>
public sealed class SourcePool : IAsyncDisposable
{
    private readonly Dictionary<string, Entry> _sources;
    private readonly Lock _lock = new();

    public SourcePool(IEnumerable<ISource> sources)
    {
        _sources = sources.ToDictionary(s => s.Config.Id, s => new Entry(s));
    }

    public IReadOnlyCollection<ISource> All
    {
        get
        {
            lock (_lock)
            {
                return _sources.Values.Select(e => e.Source).ToList();
            }
        }
    }

    public ISource? Find(string id)
    {
        lock (_lock)
        {
            return _sources.GetValueOrDefault(id)?.Source;
        }
    }

    /// <summary>Borrows the source with this id for one poll; null when there is none (removed by a reload).</summary>
    public SourceLease? Acquire(string id)
    {
        lock (_lock)
        {
            if (!_sources.TryGetValue(id, out var entry))
            {
                return null;
            }

            entry.Leases++;
            return new SourceLease(this, entry);
        }
    }

    /// <summary>
    /// Puts <paramref name="next"/> in place of the source with <paramref name="id"/> (adds it when there is none;
    /// removes the id when <paramref name="next"/> is null). The source it replaces is disposed when no poll holds it
    /// any more — at once if none does — and then <paramref name="retired"/> is called with it.
    /// </summary>
    /// <returns>The replaced source, or null.</returns>
    public async ValueTask<ISource?> Swap(string id, ISource? next, Action<ISource>? retired = null)
    {
        Entry? old;
        var disposeNow = false;
        lock (_lock)
        {
            _sources.Remove(id, out old);
            if (next is not null)
            {
                _sources[id] = new Entry(next);
            }

            if (old is not null)
            {
                old.Retired = retired ?? (_ => { });
                disposeNow = old.Leases == 0;
            }
        }

        if (disposeNow)
        {
            await RetireAsync(old!);
        }

        return old?.Source;
    }

    public async ValueTask DisposeAsync()
    {
        List<Entry> entries;
        lock (_lock)
        {
            entries = [.. _sources.Values];
            _sources.Clear();
        }

        foreach (var e in entries)
        {
            await e.Source.DisposeAsync();
        }
    }

    private async ValueTask ReleaseAsync(Entry entry)
    {
        bool dispose;
        lock (_lock)
        {
            entry.Leases--;
            dispose = entry.Leases == 0 && entry.Retired is not null;
        }

        if (dispose)
        {
            await RetireAsync(entry);
        }
    }

    private static async ValueTask RetireAsync(Entry entry)
    {
        await entry.Source.DisposeAsync();
        entry.Retired!(entry.Source);
    }

    internal sealed class Entry(ISource source)
    {
        public ISource Source { get; } = source;

        public int Leases { get; set; }

        /// <summary>The last tick (unix ms) polled, so that a tick is polled once however often its trigger fires.</summary>
        public long LastTick = long.MinValue;

        /// <summary>1 while a poll of this source runs (<see cref="SourceLease.TryBeginPoll"/>), else 0.</summary>
        public int Polling;

        /// <summary>Set when a reload took the source out: it is disposed, then this is called, after the last lease.</summary>
        public Action<ISource>? Retired { get; set; }
    }

    /// <summary>One poll's hold on a source; dispose it when the poll's result is recorded.</summary>
    public sealed class SourceLease : IAsyncDisposable
    {
        private readonly SourcePool _pool;
        private readonly Entry _entry;
        private int _released;
        private bool _polling;

        internal SourceLease(SourcePool pool, Entry entry)
        {
            _pool = pool;
            _entry = entry;
        }

        public ISource Source => _entry.Source;

        /// <summary>
        /// Takes the tick at <paramref name="tickMs"/> for this poll: false when that tick (or a later one) was polled
        /// already, by a trigger that fired twice for it or one whose phase drifted.
        /// </summary>
        public bool TryTakeTick(long tickMs)
        {
            var last = Interlocked.Read(ref _entry.LastTick);
            while (tickMs > last)
            {
                var seen = Interlocked.CompareExchange(ref _entry.LastTick, tickMs, last);
                if (seen == last)
                {
                    return true;
                }

                last = seen;
            }

            return false;
        }

        /// <summary>
        /// Marks the source's poll as running for this lease: false when another lease's poll of it still runs (the
        /// caller skips its tick rather than overlap). Ended when this lease is disposed.
        /// </summary>
        public bool TryBeginPoll()
        {
            if (_polling)
            {
                return true;
            }

            _polling = Interlocked.CompareExchange(ref _entry.Polling, 1, 0) == 0;
            return _polling;
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return ValueTask.CompletedTask;
            }

            if (_polling)
            {
                Volatile.Write(ref _entry.Polling, 0);
            }

            return _pool.ReleaseAsync(_entry);
        }
    }
}
