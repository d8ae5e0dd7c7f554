using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// The hour and day rollups a writer keeps up to date, the same for every backend: the buckets a batch touches are
/// updated in memory per sample and handed to the backend to store in the batch's transaction. The newest bucket of
/// each series stays in memory between batches; an older one (a late sample) or one not in memory (after a restart)
/// is read back from the store first. Not thread-safe: the writer's loop only.
/// </summary>
internal sealed class Rollups
{
    private readonly RollupCache _hours = new(RollupLevel.Hour);
    private readonly RollupCache _days = new(RollupLevel.Day);
    private readonly HashSet<long> _closed = [];

    /// <summary>
    /// Adds the batch (sorted by series, ts) to the open buckets and writes the buckets it touched. The samples of one
    /// series and hour are summarized once and that summary is appended to both its hour and its day bucket: each
    /// sample enters one sketch, not two. A day bucket written whose day a reader may keep
    /// (<see cref="ClosedDaysCache.WriteChangesClosedDay"/>) raises its series' closed-days version.
    /// </summary>
    /// <param name="nowMs">The writer's clock, unix ms UTC.</param>
    public void Update(IStorageWriteSession session, ReadOnlySpan<SeriesSample> rows, long nowMs)
    {
        var i = 0;
        while (i < rows.Length)
        {
            var series = rows[i].Series;
            var hourStart = RollupLevel.Hour.StartOf(rows[i].Ts);
            var part = NewSummary();
            var duplicate = false;
            for (; i < rows.Length && rows[i].Series == series && rows[i].Ts - hourStart < RollupLevel.Hour.SizeMs; i++)
            {
                // Equal ts: the later sample replaced the earlier in the table, so the bucket is recomputed from it.
                duplicate |= part.Count > 0 && rows[i].Ts == part.LastTimestampMs;
                part.Add(new Point(rows[i].Ts, rows[i].Value));
            }

            _hours.Get(session, series, hourStart).Add(part, duplicate);
            _days.Get(session, series, RollupLevel.Day.StartOf(hourStart)).Add(part, duplicate);
        }

        // Hours first: a day that must be recomputed is rebuilt from its (just written) hours, or from its samples
        // once a day chunk answers for it (its hours were dropped when it was sealed).
        _hours.WriteTouched(session, null);
        _days.ClosedDaysTouched(nowMs, _closed);
        if (_closed.Count > 0)
        {
            session.ClosedDaysChanged(_closed);
            _closed.Clear();
        }

        _days.WriteTouched(session, RollupLevel.Hour);
    }

    /// <summary>Drops everything in memory (after a rollback, or when the store was opened anew): the rows are the truth.</summary>
    public void Forget()
    {
        _hours.Forget();
        _days.Forget();
    }

    /// <summary>An empty summary that keeps no list of exact values (rollups only need the sketch).</summary>
    private static SeriesSummary NewSummary() => SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, new QuantileSketch());

    /// <summary>One rollup bucket being filled. Samples arrive in time order per series; one at or before the bucket's
    /// last (late, or a duplicate ts that replaces a value) marks it for an exact recompute at write time.</summary>
    private sealed class Bucket(long series, long start, SeriesSummary summary)
    {
        public long Series { get; } = series;

        public long Start { get; } = start;

        public SeriesSummary Summary { get; set; } = summary;

        public bool Recompute { get; set; }

        /// <param name="part">Samples of this bucket later than any added before, in time order.</param>
        /// <param name="duplicate">Whether two samples of the part share a ts (the table kept only the later).</param>
        public void Add(SeriesSummary part, bool duplicate)
        {
            if (duplicate || (Summary.Count > 0 && part.FirstTimestampMs <= Summary.LastTimestampMs))
            {
                Recompute = true;
            }
            else if (!Recompute)
            {
                Summary.Append(part);
            }
        }
    }

    /// <summary>The open buckets of one level: the newest per series stays in memory; an older one (late sample) or
    /// one not in memory (after a restart) is read from its row first.</summary>
    private sealed class RollupCache(RollupLevel level)
    {
        private readonly Dictionary<long, Bucket> _newest = [];
        private readonly Dictionary<(long, long), Bucket> _touched = [];
        private readonly List<RollupRow> _write = [];

        public Bucket Get(IStorageWriteSession session, long series, long start)
        {
            if (_newest.TryGetValue(series, out var b) && b.Start == start)
            {
                _touched.TryAdd((series, start), b);
                return b;
            }

            if (_touched.TryGetValue((series, start), out b))
            {
                return b;
            }

            b = new Bucket(series, start, session.ReadRollup(level, series, start) ?? NewSummary());
            _touched[(series, start)] = b;
            if (!_newest.TryGetValue(series, out var newest) || start > newest.Start)
            {
                _newest[series] = b;
            }

            return b;
        }

        public void Forget()
        {
            _newest.Clear();
            _touched.Clear();
        }

        /// <summary>Adds to <paramref name="series"/> those with a touched bucket whose day a reader may keep
        /// (<see cref="ClosedDaysCache.WriteChangesClosedDay"/>; day buckets only).</summary>
        public void ClosedDaysTouched(long nowMs, HashSet<long> series)
        {
            foreach (var b in _touched.Values)
            {
                if (ClosedDaysCache.WriteChangesClosedDay(b.Start, nowMs))
                {
                    series.Add(b.Series);
                }
            }
        }

        /// <param name="finer">The level to rebuild a recomputed bucket from (days: unless a day chunk answers for the
        /// day, whose hours are then dropped); null: from the raw samples.</param>
        public void WriteTouched(IStorageWriteSession session, RollupLevel? finer)
        {
            foreach (var b in _touched.Values)
            {
                if (b.Recompute)
                {
                    b.Summary = finer is null || session.HasDayChunk(b.Series, b.Start)
                        ? SeriesSummary.FromPoints(session.ReadSamples(b.Series, b.Start, b.Start + level.SizeMs - 1))
                        : session.CombineRollups(finer, b.Series, b.Start, b.Start + level.SizeMs);
                    b.Recompute = false;
                }

                if (b.Summary.Count > 0)
                {
                    _write.Add(new RollupRow(b.Series, b.Start, b.Summary));
                }
            }

            try
            {
                session.UpsertRollups(level, _write);
            }
            finally
            {
                _write.Clear();
                _touched.Clear();
            }
        }
    }
}
