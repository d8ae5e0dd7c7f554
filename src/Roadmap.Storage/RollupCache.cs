using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// The hour and day rollups a writer keeps up to date, the same for every backend: the hour buckets a batch touches are
/// updated in memory per sample and handed to the backend to store in the batch's transaction. The newest hour bucket
/// of each series stays in memory between batches; an older one (a late sample) or one not in memory (after a restart)
/// is read back from the store first. With a rewrite interval (SQLite, whose readers read past an hour row) the open
/// hours are lean: a batch only marks them, their rows are written with their first samples, then every one to two
/// intervals, and when they end or close, each write reading the stored row and the samples after it back; no summary
/// is kept between writes. Not thread-safe: the writer's loop only.
/// </summary>
/// <remarks>
/// <para>A day bucket is written when one of its hours closes, not with every batch: no reader reads a day rollup
/// before its day has ended (<see cref="WindowPlan"/> reads the open day from its hours and samples), so keeping the
/// open day's bucket in memory and rewriting its row every batch cost memory and CPU for nothing. An hour closes when
/// the series' first sample of a later hour arrives, or once both its end and its last write are
/// <see cref="CloseGraceMs"/> past by the writer's clock (a source that polls less than hourly, or stopped); it is
/// then folded into its day: appended to the stored
/// day row when that row ends before the hour starts, else the day is recomputed from its hour rows. A day rollup
/// therefore holds the day's closed hours, and all of it once the day's last hour has closed.</para>
/// <para>An hour bucket this process did not build from the hour's start (read back after a restart or a failed
/// batch, or first met after its series' previous hour left memory) is folded by a recompute, not appended: hours of
/// that day may have closed while nobody folded them (the process was down). What no later fold of the same day
/// repairs (the process down across midnight) the compactor repairs when it seals the day: a day rollup whose count is
/// not the sealed day's is rebuilt from the day's samples (<see cref="Chunks.Compactor"/>).</para>
/// </remarks>
/// <param name="openHourRewriteMs">How long at least between two writes of an open hour's row (<see
/// cref="StorageOptions.OpenHourRollupEvery"/>; up to twice that by the series' id); 0: with every batch that touches
/// it, from a summary kept in memory.</param>
/// <param name="sliceRows">How many day rows, and lean hour rows, a batch holds in memory at most before it writes them
/// (and how many closed hours it folds into their days before it writes those): at an hour's turn every series closes
/// an hour in the same one or two batches, and holding all their summaries at once was a transient of tens of
/// megabytes. Hours that are not lean keep their summaries in memory anyway; their rows go in one call.</param>
internal sealed class Rollups(long openHourRewriteMs = 0, int sliceRows = Rollups.SliceRows)
{
    /// <summary>The default of the constructor's <c>sliceRows</c>: 256 rollup rows.</summary>
    public const int SliceRows = 256;

    /// <summary>How long after its end, and after its last sample was written, an hour no later sample closed is closed
    /// by the clock: 5 s. (Samples written long after their time, a backlog after an outage or a backfill, keep their
    /// hour open while they keep coming, so each hour is folded once, when the next one begins.)</summary>
    public const long CloseGraceMs = 5_000;

    private readonly RollupCache _hours = new(RollupLevel.Hour, keepNewest: true, openHourRewriteMs, sliceRows);
    private readonly RollupCache _days = new(RollupLevel.Day, keepNewest: false, rewriteMs: 0, sliceRows);
    private readonly HashSet<long> _closed = [];
    private readonly List<Fold> _folds = [];

    // The samples of one series and hour in a batch, summarized before they are appended to the hour's bucket: one
    // scratch summary, cleared for each, rather than a summary and a sketch per series per batch (with 18,000 series
    // and two batches a second, the writer's largest allocation).
    private readonly SeriesSummary _part = NewSummary();

    /// <summary>
    /// Adds the batch (sorted by series, ts) to the hour buckets, writes the buckets it touched and folds the hours it
    /// closed into their days. The samples of one series and hour are summarized once and that summary is appended to
    /// its hour bucket; with lean hours (a rewrite interval) only marked, and read back from the table when the hour's
    /// row is written. A day bucket written whose day a reader may keep
    /// (<see cref="ClosedDaysCache.WriteChangesClosedDay"/>) raises its series' closed-days version.
    /// </summary>
    /// <param name="nowMs">The writer's clock, unix ms UTC.</param>
    /// <param name="closeAllEnded">Also close the hours that ended but were written within the grace (a flush, a stop:
    /// nothing more is coming for them from this writer).</param>
    public void Update(IStorageWriteSession session, ReadOnlySpan<SeriesSample> rows, long nowMs, bool closeAllEnded = false)
    {
        _folds.Clear();
        var i = 0;
        while (i < rows.Length)
        {
            var series = rows[i].Series;
            var hourStart = RollupLevel.Hour.StartOf(rows[i].Ts);
            var first = rows[i].Ts;
            SeriesSummary? part = null;
            var duplicate = false;
            if (_hours.Lean)
            {
                // The open hours keep no summary in memory: a write reads the row and the samples after it back.
                while (i < rows.Length && rows[i].Series == series && rows[i].Ts - hourStart < RollupLevel.Hour.SizeMs)
                {
                    i++;
                }
            }
            else
            {
                part = _part;
                part.Clear();
                for (; i < rows.Length && rows[i].Series == series && rows[i].Ts - hourStart < RollupLevel.Hour.SizeMs; i++)
                {
                    // Equal ts: the later sample replaced the earlier in the table, so the bucket is recomputed from it.
                    duplicate |= part.Count > 0 && rows[i].Ts == part.LastTimestampMs;
                    part.Add(new Point(rows[i].Ts, rows[i].Value));
                }
            }

            var hour = _hours.Get(session, series, hourStart, _folds, catchUpBefore: first);
            hour.Add(part, first, duplicate);
            hour.TouchedMs = nowMs;
        }

        _hours.CloseBefore(
            closeAllEnded ? nowMs - RollupLevel.Hour.SizeMs : nowMs - RollupLevel.Hour.SizeMs - CloseGraceMs,
            closeAllEnded ? long.MaxValue : nowMs - CloseGraceMs,
            _folds);

        // The open hours not touched by this batch whose row is due (or, with closeAllEnded, every one behind its
        // samples: nothing more is coming now).
        _hours.TouchDue(nowMs, all: closeAllEnded);

        // Hours first: a fold appends an hour's final summary (recomputed above when it had to be), and a day that must
        // be recomputed is rebuilt from its (just written) hours, or from its samples once a day chunk answers for it.
        // The days are folded and written in slices of sliceRows folds. A slice may part two folds of one series' day
        // (a late sample's recompute, then the append of the hour its newest closed): the later one reads the day
        // row the earlier wrote. A recompute rebuilds it from the hour rows, all written by now; an append finds its
        // hour already in the row (its first sample not after the row's last) and recomputes instead (Bucket.Add).
        _hours.WriteTouched(session, null, nowMs, all: closeAllEnded);
        var sliced = 0;
        for (var f = 0; f < _folds.Count; f++)
        {
            var fold = _folds[f];
            var dayStart = RollupLevel.Day.StartOf(fold.Hour.Start);
            var day = _days.Get(session, fold.Hour.Series, dayStart, null, recompute: fold.Recompute);

            // A recompute takes the day's hours up to the series' open hour, which is folded when it closes.
            var open = _hours.NewestStart(fold.Hour.Series);
            day.RecomputeTo = open > dayStart && open < dayStart + RollupLevel.Day.SizeMs ? open : dayStart + RollupLevel.Day.SizeMs;
            if (fold.Recompute)
            {
                day.Recompute = true;
            }
            else
            {
                // A lean hour keeps no summary once written: its row, written above, is read back.
                var hour = fold.Hour.Summary ?? session.ReadRollup(RollupLevel.Hour, fold.Hour.Series, fold.Hour.Start) ?? NewSummary();
                day.Add(hour, hour.FirstTimestampMs, duplicate: false);
            }

            if (++sliced >= sliceRows)
            {
                WriteDays(session, nowMs);
                sliced = 0;
            }
        }

        _folds.Clear();
        WriteDays(session, nowMs);
    }

    /// <summary>Writes the day buckets folded so far, and raises the closed-days version of the series whose written
    /// day a reader may keep.</summary>
    private void WriteDays(IStorageWriteSession session, long nowMs)
    {
        _days.ClosedDaysTouched(nowMs, _closed);
        if (_closed.Count > 0)
        {
            session.ClosedDaysChanged(_closed);
            _closed.Clear();
        }

        _days.WriteTouched(session, RollupLevel.Hour, nowMs, all: true);
    }

    /// <summary>Whether an hour in memory may have ended <see cref="CloseGraceMs"/> before <paramref name="nowMs"/>
    /// (with <paramref name="allEnded"/>: ended at all) and wait to be closed by an <see cref="Update"/> (an empty one
    /// will do).</summary>
    /// <remarks>
    /// Also true when an open hour's row waits to be rewritten and is due (with <paramref name="allEnded"/>: at all).</remarks>
    public bool CloseDue(long nowMs, bool allEnded = false) =>
        _hours.CloseDue(nowMs - RollupLevel.Hour.SizeMs - (allEnded ? 0 : CloseGraceMs)) || _hours.RewriteDue(nowMs, allEnded);

    /// <summary>The open hours that hold a summary in memory (none between writes when the hours are lean; tests).</summary>
    internal int OpenHourSummaries => _hours.Summaries;

    /// <summary>Drops everything in memory (after a rollback, or when the store was opened anew): the rows are the truth.</summary>
    public void Forget()
    {
        _hours.Forget();
        _days.Forget();
        _folds.Clear();
    }

    /// <summary>An empty summary that keeps no list of exact values (rollups only need the sketch), with a compact sketch:
    /// the open hours stay in memory, one per series.</summary>
    private static SeriesSummary NewSummary() => SeriesSummary.Restore(0, 0, 0, 0, 0, 0, 0, 0, 0, QuantileSketch.Compact());

    /// <summary>One rollup bucket being filled. Samples arrive in time order per series; one at or before the bucket's
    /// last (late, or a duplicate ts that replaces a value) marks it for an exact recompute at write time.</summary>
    private sealed class Bucket(long series, long start, SeriesSummary? summary)
    {
        /// <summary><see cref="WrittenMs"/> of a bucket whose row this process has not written.</summary>
        public const long Never = long.MinValue;

        public long Series { get; } = series;

        public long Start { get; } = start;

        /// <summary>What the bucket holds. Null in a lean cache's hours between writes, and once a closing one is written
        /// (<see cref="RollupCache.Lean"/>).</summary>
        public SeriesSummary? Summary { get; set; } = summary;

        /// <summary>The last sample of the bucket's stored row (a lean cache's open hours: a later sample is read back
        /// from the table, an earlier one makes a recompute); long.MinValue: no row.</summary>
        public long RowLastTs { get; set; } = long.MinValue;

        public bool Recompute { get; set; }

        /// <summary>When a sample was last added, by the writer's clock (unix ms).</summary>
        public long TouchedMs { get; set; }

        /// <summary>When this process last wrote the bucket's row, by the writer's clock (unix ms); <see cref="Never"/>.</summary>
        public long WrittenMs { get; set; } = Never;

        /// <summary>Whether the summary holds samples its stored row does not (added since the row was written).</summary>
        public bool Dirty { get; set; }

        /// <summary>Folded into its day in this batch: its row is written now, whatever the rewrite interval.</summary>
        public bool Closing { get; set; }

        /// <summary>Where a recompute ends (exclusive, unix ms); null: the bucket's end.</summary>
        public long? RecomputeTo { get; set; }

        /// <summary>Folded into its day by a recompute rather than appended: this process did not build it from the
        /// hour's start (see <see cref="Rollups"/>' remarks).</summary>
        public bool FoldByRecompute { get; init; }

        /// <param name="part">Samples of this bucket later than any added before, in time order; null in a lean
        /// cache's open hour, whose samples are read back from the table when its row is written.</param>
        /// <param name="firstTs">The part's first sample.</param>
        /// <param name="duplicate">Whether two samples of the part share a ts (the table kept only the later).</param>
        public void Add(SeriesSummary? part, long firstTs, bool duplicate)
        {
            Dirty = true;
            if (part is null)
            {
                // Only a sample the stored row already covers needs the row rebuilt.
                Recompute |= firstTs <= RowLastTs;
            }
            else if (duplicate || (Summary!.Count > 0 && firstTs <= Summary.LastTimestampMs))
            {
                Recompute = true;
            }
            else if (!Recompute)
            {
                Summary.Append(part);
            }
        }
    }

    /// <summary>An hour closed in this batch, to fold into its day once the hours are written.</summary>
    private readonly record struct Fold(Bucket Hour, bool Recompute);

    /// <summary>The buckets of one level a batch touches; with <paramref name="keepNewest"/> the newest per series stays
    /// in memory between batches, and an older one (late sample) or one not in memory (after a restart) is read from
    /// its row first. Without it every bucket is read from its row.</summary>
    /// <param name="rewriteMs">How often the row of a newest bucket whose level has not ended is rewritten at most
    /// (<see cref="StorageOptions.OpenHourRollupEvery"/>); 0: whenever a batch touches it. A bucket's row is also
    /// written with its first samples, when its span ends, when it closes, and with <c>all</c>: so a row lags its
    /// samples only in a series' newest bucket, and only by samples later than the row's last.</param>
    /// <param name="sliceRows">How many rows <see cref="WriteTouched"/> collects before it writes them.</param>
    private sealed class RollupCache(RollupLevel level, bool keepNewest, long rewriteMs, int sliceRows)
    {
        /// <summary>
        /// The newest buckets keep no summary between writes (hours with a rewrite interval): a write reads the stored
        /// row and the samples after it back. An open hour's sketch is most of a series' memory (at 10,000 http sources
        /// 90,000 of them); reading back a minute of samples per series a minute costs less than keeping them.
        /// </summary>
        public bool Lean { get; } = keepNewest && rewriteMs > 0;

        private readonly Dictionary<long, Bucket> _newest = [];
        private readonly Dictionary<(long, long), Bucket> _touched = [];
        private readonly List<RollupRow> _write = [];

        // The earliest start among the newest buckets (or less): no bucket can be closed by the clock before then.
        private long _earliest = long.MaxValue;

        // Whether a newest bucket's row may lag its samples (a write put off by the rewrite interval), and when the
        // newest buckets are next looked through for rows that came due with no batch touching them.
        private bool _lagging;
        private long _nextScanMs = long.MinValue;

        /// <param name="folds">Where the buckets this closes go (the series' previous newest, replaced by a later one;
        /// or this bucket itself, when it is older than the newest: a late sample into a closed hour). Null: none.</param>
        /// <param name="recompute">The caller recomputes the bucket anyway: a bucket not in memory is not read from its
        /// row (a fold that recomputes its day would read and decode the stored day only to throw it away).</param>
        /// <param name="catchUpBefore">The first sample about to be added: a bucket read from a row that may lag its
        /// samples (written by a process that stopped before rewriting it) first takes the stored samples after the
        /// row's last and before this one. long.MinValue: none.</param>
        public Bucket Get(IStorageWriteSession session, long series, long start, List<Fold>? folds, bool recompute = false, long catchUpBefore = long.MinValue)
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

            var stored = recompute ? null : session.ReadRollup(level, series, start);
            Bucket? newest = null;
            var had = keepNewest && _newest.TryGetValue(series, out newest);
            b = new Bucket(series, start, Lean ? null : stored ?? NewSummary())
            {
                Recompute = recompute,
                FoldByRecompute = !had || stored is not null,
                RowLastTs = stored is { Count: > 0 } ? stored.LastTimestampMs : long.MinValue,
            };
            if (stored is not null && !Lean && stored.Count > 0 && catchUpBefore > stored.LastTimestampMs + 1)
            {
                b.Dirty = AddStored(session, stored, series, stored.LastTimestampMs + 1, catchUpBefore - 1) > 0;
            }

            _touched[(series, start)] = b;
            if (!keepNewest)
            {
                return b;
            }

            if (had && start < newest!.Start)
            {
                // A late sample into an hour that closed: its day is recomputed with it.
                folds?.Add(new Fold(b, Recompute: true));
            }
            else
            {
                if (had)
                {
                    folds?.Add(new Fold(newest!, newest!.FoldByRecompute));
                    newest!.Closing = true;
                    _touched.TryAdd((series, newest!.Start), newest!);
                }

                _newest[series] = b;
                _earliest = Math.Min(_earliest, start);
            }

            return b;
        }

        /// <summary>The newest buckets holding a summary.</summary>
        public int Summaries => _newest.Values.Count(b => b.Summary is not null);

        /// <summary>The start of the series' newest bucket in memory; long.MaxValue when none.</summary>
        public long NewestStart(long series) => _newest.TryGetValue(series, out var b) ? b.Start : long.MaxValue;

        /// <summary>Whether a newest bucket may start at or before <paramref name="lastStart"/>.</summary>
        public bool CloseDue(long lastStart) => _earliest <= lastStart;

        /// <summary>Whether a newest bucket's row may lag its samples and be due for a rewrite (with
        /// <paramref name="all"/>: at all).</summary>
        public bool RewriteDue(long nowMs, bool all) => _lagging && (all || nowMs >= _nextScanMs);

        /// <summary>Adds to the batch's touched buckets the newest ones whose row lags and is due (with
        /// <paramref name="all"/>: every one that lags); looks through them at most every quarter of the rewrite
        /// interval, as no read depends on it (the rows are rewritten to keep a reader's raw reads short).</summary>
        public void TouchDue(long nowMs, bool all)
        {
            if (!RewriteDue(nowMs, all))
            {
                return;
            }

            var lagging = false;
            foreach (var b in _newest.Values)
            {
                if (b.Dirty && (all || RowDue(b, nowMs)))
                {
                    _touched.TryAdd((b.Series, b.Start), b);
                }
                else
                {
                    lagging |= b.Dirty;
                }
            }

            _lagging = lagging;
            _nextScanMs = nowMs + (rewriteMs / 4);
        }

        /// <summary>Closes the newest buckets that start at or before <paramref name="lastStart"/> and were last
        /// touched at or before <paramref name="lastTouched"/> (no later sample closed them): each is folded by a
        /// recompute and leaves memory.</summary>
        public void CloseBefore(long lastStart, long lastTouched, List<Fold> folds)
        {
            if (_earliest > lastStart)
            {
                return;
            }

            var earliest = long.MaxValue;
            List<long>? closed = null;
            foreach (var (series, b) in _newest)
            {
                if (b.Start <= lastStart && b.TouchedMs <= lastTouched)
                {
                    (closed ??= []).Add(series);
                    folds.Add(new Fold(b, Recompute: true));
                    b.Closing = true;
                    _touched.TryAdd((series, b.Start), b);
                }
                else
                {
                    earliest = Math.Min(earliest, b.Start);
                }
            }

            foreach (var series in closed ?? [])
            {
                _newest.Remove(series);
            }

            _earliest = earliest;
        }

        public void Forget()
        {
            _newest.Clear();
            _touched.Clear();
            _earliest = long.MaxValue;
            _lagging = false;
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

        /// <summary>Writes the touched buckets whose row is due (<see cref="RowDue"/>; with <paramref name="all"/>
        /// every one that holds samples its row does not).</summary>
        /// <param name="finer">The level to rebuild a recomputed bucket from (days: unless a day chunk answers for the
        /// day, whose hours are then dropped); null: from the raw samples.</param>
        /// <remarks>The rows go to the store every <c>sliceRows</c>, so a batch that writes thousands (an hour's turn)
        /// holds a slice of their summaries, not all. A lean bucket drops its summary once written, a closing one too:
        /// its fold reads the row back. Hours that are not lean keep their newest summaries in memory anyway, so
        /// their rows go in one call (on PostgreSQL, one statement a batch rather than one per slice).</remarks>
        public void WriteTouched(IStorageWriteSession session, RollupLevel? finer, long nowMs, bool all)
        {
            try
            {
                foreach (var b in _touched.Values)
                {
                    if (b.Recompute)
                    {
                        var end = b.RecomputeTo ?? b.Start + level.SizeMs;
                        b.Summary = finer is null || session.HasDayChunk(b.Series, b.Start)
                            ? SeriesSummary.FromPoints(session.ReadSamples(b.Series, b.Start, end - 1))
                            : session.CombineRollups(finer, b.Series, b.Start, end);
                        b.Recompute = false;
                        b.Dirty = true;
                        b.WrittenMs = Bucket.Never;
                    }
                    else if (Lean && b.Dirty && (all || RowDue(b, nowMs)))
                    {
                        b.Summary = ReadBack(session, b);
                    }

                    if (!b.Dirty)
                    {
                        continue;
                    }

                    if (!all && !RowDue(b, nowMs))
                    {
                        _lagging = true;
                        continue;
                    }

                    var summary = b.Summary!;
                    if (summary.Count > 0)
                    {
                        _write.Add(new RollupRow(b.Series, b.Start, summary));
                        b.RowLastTs = summary.LastTimestampMs;
                    }

                    b.Dirty = false;
                    b.WrittenMs = nowMs;
                    if (Lean)
                    {
                        b.Summary = null;
                    }

                    if (_write.Count >= sliceRows && (Lean || !keepNewest))
                    {
                        session.UpsertRollups(level, _write);
                        _write.Clear();
                    }
                }

                session.UpsertRollups(level, _write);
            }
            finally
            {
                _write.Clear();
                _touched.Clear();
            }
        }

        /// <summary>A lean bucket's summary: its stored row (none before its first write) and the stored samples after
        /// the row's last, which include the batch's own (inserted before the rollups are updated).</summary>
        private SeriesSummary ReadBack(IStorageWriteSession session, Bucket b)
        {
            var summary = (b.RowLastTs == long.MinValue ? null : session.ReadRollup(level, b.Series, b.Start)) ?? SeriesSummary.Empty(keepValues: false);
            AddStored(session, summary, b.Series, summary.Count > 0 ? summary.LastTimestampMs + 1 : b.Start, b.Start + level.SizeMs - 1);
            return summary;
        }

        /// <summary>Adds the stored samples of a series with from &lt;= ts &lt;= to to a summary (those a row lacks:
        /// left behind it by the rewrite interval, or by a killed process); how many.</summary>
        private static int AddStored(IStorageWriteSession session, SeriesSummary summary, long series, long fromMs, long toMs)
        {
            var points = session.ReadSamples(series, fromMs, toMs);
            foreach (var p in points)
            {
                summary.Add(p);
            }

            return points.Count;
        }

        /// <summary>Whether a bucket with samples its row lacks is written now: at once without a rewrite interval, for
        /// a row never written by this process (its first samples, or a recompute), when the bucket closes or its span
        /// has ended, else once the interval has passed since its last write, stretched by up to as much again by the
        /// series' id: series that began together (a start, an hour's first batch) come due over the interval, not in one
        /// batch.</summary>
        private bool RowDue(Bucket b, long nowMs) =>
            rewriteMs <= 0 || b.WrittenMs == Bucket.Never || b.Closing || nowMs >= b.Start + level.SizeMs
            || nowMs - b.WrittenMs >= rewriteMs + (b.Series % 32 * rewriteMs / 32);
    }
}
