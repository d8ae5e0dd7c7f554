namespace Roadmap.Core.Evaluation;

/// <summary>
/// A mergeable summary of the samples of one series over a time range: enough to compute every
/// <see cref="Config.Aggregate"/> without the samples themselves, so a long window can be answered from rollups.
/// NaN samples are ignored, as <see cref="Aggregates"/> ignores them.
/// </summary>
/// <remarks>
/// While the summary is built only from raw points (<see cref="Add"/>, <see cref="FromPoints"/>, or appending other
/// such summaries) it also keeps the values themselves in <see cref="ExactValues"/>, so a short window's quantiles
/// stay exact; once a summary without them (a restored rollup) is appended, quantiles come from
/// <see cref="Sketch"/>. Not thread-safe.
/// </remarks>
public sealed class SeriesSummary
{
    private QuantileSketch? _sketch; // built on first need while the exact values are kept
    private List<double>? _exact;

    private SeriesSummary(QuantileSketch? sketch, List<double>? exact)
    {
        _sketch = sketch;
        _exact = exact;
    }

    /// <summary>How many (non-NaN) samples.</summary>
    public long Count { get; private set; }

    /// <summary>The sum of the samples; 0 when empty.</summary>
    public double Sum { get; private set; }

    /// <summary>The smallest sample; NaN when empty.</summary>
    public double Min { get; private set; } = double.NaN;

    /// <summary>The largest sample; NaN when empty.</summary>
    public double Max { get; private set; } = double.NaN;

    /// <summary>The first sample's time, unix milliseconds UTC; 0 when empty.</summary>
    public long FirstTimestampMs { get; private set; }

    /// <summary>The first sample's value; NaN when empty.</summary>
    public double FirstValue { get; private set; } = double.NaN;

    /// <summary>The last sample's time, unix milliseconds UTC; 0 when empty.</summary>
    public long LastTimestampMs { get; private set; }

    /// <summary>The last sample's value; NaN when empty.</summary>
    public double LastValue { get; private set; } = double.NaN;

    /// <summary>
    /// The counter increase between the first and the last sample: the sum of the rises, where a fall is a counter
    /// reset after which the new value is all increase (<see cref="Aggregates"/>' rule). 0 with fewer than 2 samples.
    /// </summary>
    public double Increase { get; private set; }

    /// <summary>The distribution of the samples (NaN and infinities left out, see <see cref="QuantileSketch"/>).
    /// The summary owns it: later <see cref="Add"/> and <see cref="Append"/> calls change it.</summary>
    public QuantileSketch Sketch
    {
        get
        {
            if (_sketch is null)
            {
                _sketch = new QuantileSketch();
                foreach (var value in _exact!)
                {
                    _sketch.Add(value);
                }
            }

            return _sketch;
        }
    }

    /// <summary>The samples' values in arrival order while the summary was built only from raw points; else null.</summary>
    public IReadOnlyList<double>? ExactValues => _exact;

    /// <summary>A new summary of no samples (which still counts as built from raw points).</summary>
    /// <param name="keepValues">False: keep no <see cref="ExactValues"/> even while only raw points are added (their
    /// quantiles then come from the sketch), for a caller that needs none.</param>
    public static SeriesSummary Empty(bool keepValues = true) => keepValues ? new(null, []) : new(new QuantileSketch(), null);

    /// <summary>The summary of <paramref name="points"/>, taken in the order given (oldest first).</summary>
    public static SeriesSummary FromPoints(IEnumerable<Point> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var summary = new SeriesSummary(null, points is IReadOnlyCollection<Point> known ? new List<double>(known.Count) : []);
        foreach (var point in points)
        {
            summary.Add(point);
        }

        return summary;
    }

    /// <summary>
    /// A summary read back from storage (no exact values; quantiles come from <paramref name="sketch"/>, which the
    /// summary takes over). With <paramref name="count"/> 0 the other numbers are ignored.
    /// </summary>
    /// <param name="firstTs">Unix milliseconds UTC of the first sample.</param>
    /// <param name="lastTs">Unix milliseconds UTC of the last sample.</param>
    /// <exception cref="ArgumentException">The numbers contradict each other (negative count, min above max, the
    /// last sample before the first, a sketch holding more values than the count).</exception>
    public static SeriesSummary Restore(long count, double sum, double min, double max, long firstTs, double firstValue, long lastTs, double lastValue, double increase, QuantileSketch sketch)
    {
        ArgumentNullException.ThrowIfNull(sketch);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (sketch.Count > count)
        {
            throw new ArgumentException($"the sketch holds {sketch.Count} values but the summary counts only {count}", nameof(sketch));
        }

        var summary = new SeriesSummary(sketch, null);
        if (count == 0)
        {
            return summary;
        }

        if (min > max)
        {
            throw new ArgumentException($"min {min} is above max {max}", nameof(min));
        }

        if (lastTs < firstTs)
        {
            throw new ArgumentException($"the last sample ({lastTs} ms) is before the first ({firstTs} ms)", nameof(lastTs));
        }

        summary.Count = count;
        summary.Sum = sum;
        summary.Min = min;
        summary.Max = max;
        summary.FirstTimestampMs = firstTs;
        summary.FirstValue = firstValue;
        summary.LastTimestampMs = lastTs;
        summary.LastValue = lastValue;
        summary.Increase = increase;
        return summary;
    }

    /// <summary>
    /// Adds one sample after the ones already in; a NaN value is ignored. The order is not checked: first, last and
    /// increase follow arrival order exactly as <see cref="Aggregates"/> treats a list, so points out of time order
    /// give the same (meaningless for a counter) increase the list would. Sum, count, min, max and quantiles do not
    /// depend on order.
    /// </summary>
    public void Add(Point p)
    {
        var value = p.Value;
        if (double.IsNaN(value))
        {
            return;
        }

        if (Count == 0)
        {
            Min = Max = FirstValue = value;
            FirstTimestampMs = p.TimestampMs;
        }
        else
        {
            // Same comparisons as Enumerable.Min/Max and Aggregates.Increase so list and summary agree bit for bit.
            if (value < Min)
            {
                Min = value;
            }

            if (value > Max)
            {
                Max = value;
            }

            var delta = value - LastValue;
            Increase += delta >= 0 ? delta : value;
        }

        Count++;
        Sum += value;
        LastValue = value;
        LastTimestampMs = p.TimestampMs;
        _exact?.Add(value);
        _sketch?.Add(value);
    }

    /// <summary>Makes this the summary of no samples again, keeping its sketch's arrays (and its exact list, if it keeps
    /// one) for reuse: a scratch summary filled and appended elsewhere many times allocates once.</summary>
    public void Clear()
    {
        Count = 0;
        Sum = 0;
        Min = Max = FirstValue = LastValue = double.NaN;
        FirstTimestampMs = LastTimestampMs = 0;
        Increase = 0;
        _exact?.Clear();
        _sketch?.Clear();
    }

    /// <summary>
    /// Appends the summary of the samples that follow this one's in time, making this the summary of both. The step
    /// from this one's last to <paramref name="later"/>'s first sample counts toward <see cref="Increase"/> by the
    /// reset rule, so summary(A) appended with summary(B) equals summary(A then B) for count, min, max, first and
    /// last exactly, and for sum and increase up to floating-point rounding of the additions (exactly for integral
    /// values). Appending a summary without exact values drops this one's. An empty <paramref name="later"/>
    /// changes nothing. <paramref name="later"/> itself is not changed.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="later"/> starts before this summary ends (it may start at
    /// the same millisecond, since two samples can share one), or is this summary.</exception>
    public void Append(SeriesSummary later)
    {
        ArgumentNullException.ThrowIfNull(later);
        if (ReferenceEquals(later, this))
        {
            throw new ArgumentException("a summary cannot be appended to itself", nameof(later));
        }

        if (later.Count == 0)
        {
            return;
        }

        if (Count > 0 && later.FirstTimestampMs < LastTimestampMs)
        {
            throw new ArgumentException(
                $"the appended summary starts at {later.FirstTimestampMs} ms, before this one ends at {LastTimestampMs} ms; append summaries in time order",
                nameof(later));
        }

        if (_exact is not null && later._exact is not null)
        {
            if (_sketch is not null)
            {
                foreach (var value in later._exact)
                {
                    _sketch.Add(value);
                }
            }

            _exact.AddRange(later._exact);
        }
        else
        {
            Sketch.Merge(later.Sketch);
            _exact = null;
        }

        if (Count == 0)
        {
            Min = later.Min;
            Max = later.Max;
            FirstValue = later.FirstValue;
            FirstTimestampMs = later.FirstTimestampMs;
            Increase = later.Increase;
        }
        else
        {
            if (later.Min < Min)
            {
                Min = later.Min;
            }

            if (later.Max > Max)
            {
                Max = later.Max;
            }

            var delta = later.FirstValue - LastValue;
            Increase = Increase + (delta >= 0 ? delta : later.FirstValue) + later.Increase;
        }

        Count += later.Count;
        Sum += later.Sum;
        LastValue = later.LastValue;
        LastTimestampMs = later.LastTimestampMs;
    }

    /// <summary>
    /// Adds the samples of another series over the same time range, as the denominator of a ratio pools several
    /// signals: count, sum, min, max, the sketch and exact values combine; <see cref="Increase"/> becomes the sum of
    /// both series' own increases; first and last are the earliest and the latest sample of either. Unlike
    /// <see cref="Append"/> the ranges may overlap. <paramref name="other"/> itself is not changed.
    /// </summary>
    public void MergeSeries(SeriesSummary other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(other, this))
        {
            throw new ArgumentException("a summary cannot be merged with itself", nameof(other));
        }

        if (other.Count == 0)
        {
            return;
        }

        if (_exact is not null && other._exact is not null)
        {
            if (_sketch is not null)
            {
                foreach (var value in other._exact)
                {
                    _sketch.Add(value);
                }
            }

            _exact.AddRange(other._exact);
        }
        else
        {
            Sketch.Merge(other.Sketch);
            _exact = null;
        }

        if (Count == 0 || other.FirstTimestampMs < FirstTimestampMs)
        {
            FirstTimestampMs = other.FirstTimestampMs;
            FirstValue = other.FirstValue;
        }

        if (Count == 0 || other.LastTimestampMs >= LastTimestampMs)
        {
            LastTimestampMs = other.LastTimestampMs;
            LastValue = other.LastValue;
        }

        if (Count == 0 || other.Min < Min)
        {
            Min = other.Min;
        }

        if (Count == 0 || other.Max > Max)
        {
            Max = other.Max;
        }

        Count += other.Count;
        Sum += other.Sum;
        Increase += other.Increase;
    }
}
