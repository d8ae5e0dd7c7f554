namespace Roadmap.Core.Evaluation;

/// <summary>
/// PLACEHOLDER for the sketch helper's type (same public API; replaced at merge). A log-bucket sketch with about 0.5%
/// relative error on positive, negative and zero values.
/// </summary>
public sealed class QuantileSketch
{
    private const double Gamma = 1.01;
    private static readonly double LogGamma = Math.Log(Gamma);
    private readonly SortedDictionary<int, long> _positive = [];
    private readonly SortedDictionary<int, long> _negative = [];
    private long _zeros;

    public long Count { get; private set; }

    public void Add(double value)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        Count++;
        if (value == 0)
        {
            _zeros++;
            return;
        }

        var buckets = value > 0 ? _positive : _negative;
        var key = (int)Math.Ceiling(Math.Log(Math.Abs(value)) / LogGamma);
        buckets[key] = buckets.GetValueOrDefault(key) + 1;
    }

    public void Merge(QuantileSketch other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (k, n) in other._positive)
        {
            _positive[k] = _positive.GetValueOrDefault(k) + n;
        }

        foreach (var (k, n) in other._negative)
        {
            _negative[k] = _negative.GetValueOrDefault(k) + n;
        }

        _zeros += other._zeros;
        Count += other.Count;
    }

    public double? Quantile(double q)
    {
        if (Count == 0)
        {
            return null;
        }

        var rank = (long)Math.Round(q * (Count - 1));
        long seen = 0;
        foreach (var (k, n) in _negative.Reverse())
        {
            seen += n;
            if (seen > rank)
            {
                return -Value(k);
            }
        }

        seen += _zeros;
        if (seen > rank)
        {
            return 0;
        }

        foreach (var (k, n) in _positive)
        {
            seen += n;
            if (seen > rank)
            {
                return Value(k);
            }
        }

        return Value(_positive.Keys.Last());
    }

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        w.Write(_zeros);
        foreach (var buckets in new[] { _positive, _negative })
        {
            w.Write(buckets.Count);
            foreach (var (k, n) in buckets)
            {
                w.Write(k);
                w.Write(n);
            }
        }

        w.Flush();
        return stream.ToArray();
    }

    public static QuantileSketch FromBytes(ReadOnlySpan<byte> bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes.ToArray()));
            var s = new QuantileSketch { _zeros = r.ReadInt64() };
            s.Count = s._zeros;
            foreach (var buckets in new[] { s._positive, s._negative })
            {
                var count = r.ReadInt32();
                for (var i = 0; i < count; i++)
                {
                    var n = r.ReadInt64();
                    buckets[r.ReadInt32()] = n;
                    s.Count += n;
                }
            }

            return s;
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException("corrupt sketch", e);
        }
    }

    private static double Value(int key) => 2 * Math.Pow(Gamma, key) / (Gamma + 1);
}
