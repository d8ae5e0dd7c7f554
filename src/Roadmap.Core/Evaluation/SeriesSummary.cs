namespace Roadmap.Core.Evaluation;

/// <summary>PLACEHOLDER for the sketch helper's type (same public API; replaced at merge): what a window's samples
/// add up to, mergeable across adjacent spans.</summary>
public sealed class SeriesSummary
{
    private List<double>? _exact = [];

    public long Count { get; private set; }

    public double Sum { get; private set; }

    public double Min { get; private set; } = double.NaN;

    public double Max { get; private set; } = double.NaN;

    public long FirstTimestampMs { get; private set; }

    public double FirstValue { get; private set; } = double.NaN;

    public long LastTimestampMs { get; private set; }

    public double LastValue { get; private set; } = double.NaN;

    public double Increase { get; private set; }

    public QuantileSketch Sketch { get; private set; } = new();

    public IReadOnlyList<double>? ExactValues => _exact;

    public static SeriesSummary Empty() => new();

    public void Add(Point p)
    {
        if (double.IsNaN(p.Value))
        {
            return;
        }

        if (Count == 0)
        {
            FirstTimestampMs = p.TimestampMs;
            FirstValue = p.Value;
            Min = p.Value;
            Max = p.Value;
        }
        else
        {
            Increase += p.Value >= LastValue ? p.Value - LastValue : p.Value;
            Min = Math.Min(Min, p.Value);
            Max = Math.Max(Max, p.Value);
        }

        Count++;
        Sum += p.Value;
        LastTimestampMs = p.TimestampMs;
        LastValue = p.Value;
        Sketch.Add(p.Value);
        _exact?.Add(p.Value);
    }

    public static SeriesSummary FromPoints(IEnumerable<Point> points)
    {
        var s = new SeriesSummary();
        foreach (var p in points)
        {
            s.Add(p);
        }

        return s;
    }

    public SeriesSummary Append(SeriesSummary later)
    {
        ArgumentNullException.ThrowIfNull(later);
        if (later.Count == 0)
        {
            return this;
        }

        if (Count == 0)
        {
            FirstTimestampMs = later.FirstTimestampMs;
            FirstValue = later.FirstValue;
            Min = later.Min;
            Max = later.Max;
            Increase = later.Increase;
        }
        else
        {
            Increase += (later.FirstValue >= LastValue ? later.FirstValue - LastValue : later.FirstValue) + later.Increase;
            Min = Math.Min(Min, later.Min);
            Max = Math.Max(Max, later.Max);
        }

        _exact = _exact is not null && later._exact is not null ? [.. _exact, .. later._exact] : null;
        Count += later.Count;
        Sum += later.Sum;
        LastTimestampMs = later.LastTimestampMs;
        LastValue = later.LastValue;
        var sketch = new QuantileSketch();
        sketch.Merge(Sketch);
        sketch.Merge(later.Sketch);
        Sketch = sketch;
        return this;
    }

    public static SeriesSummary Restore(long count, double sum, double min, double max, long firstTs, double firstValue, long lastTs, double lastValue, double increase, QuantileSketch sketch) =>
        new()
        {
            _exact = null,
            Count = count,
            Sum = sum,
            Min = min,
            Max = max,
            FirstTimestampMs = firstTs,
            FirstValue = firstValue,
            LastTimestampMs = lastTs,
            LastValue = lastValue,
            Increase = increase,
            Sketch = sketch,
        };
}
