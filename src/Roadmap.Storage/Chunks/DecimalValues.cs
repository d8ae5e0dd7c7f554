namespace Roadmap.Storage.Chunks;

/// <summary>
/// Values that are short decimals (1, 0, 1234, 0.012345, 97.5) as integers: v = m / 10^digits exactly, bit for bit.
/// Exporters and probes round what they report (latencies to microseconds, counters are integers, gauges to a few
/// places), so the integers of a series differ little from one sample to the next, where the doubles' bits do not.
/// A value that is no such decimal (NaN, an infinity, -0, a full-precision ratio) is stored apart as its raw bits.
/// </summary>
internal static class DecimalValues
{
    /// <summary>The most decimal places tried; more would leave too few integer digits below 2^53.</summary>
    public const int MaxDigits = 15;

    private const double MaxMantissa = 9_007_199_254_740_992d; // 2^53: every integer up to here is exact

    private static readonly double[] Pow10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// The fewest decimal places at which all but at most <paramref name="maxMisses"/> values are exact, or -1 when
    /// more values than that are no short decimal at any places (then the chunk's values are XOR coded).
    /// </summary>
    public static int FindDigits(ReadOnlySpan<double> values, int maxMisses)
    {
        var digits = 0;
        var misses = 0;
        foreach (var v in values)
        {
            if (TryMantissa(v, digits, out _))
            {
                continue;
            }

            var more = digits + 1;
            while (more <= MaxDigits && !TryMantissa(v, more, out _))
            {
                more++;
            }

            if (more <= MaxDigits)
            {
                digits = more;
            }
            else if (++misses > maxMisses)
            {
                return -1;
            }
        }

        return digits;
    }

    /// <summary>The integer m with m / 10^<paramref name="digits"/> == <paramref name="value"/> bit for bit, if
    /// there is one below 2^53 in magnitude.</summary>
    public static bool TryMantissa(double value, int digits, out long mantissa)
    {
        mantissa = 0;
        if (!double.IsFinite(value))
        {
            return false;
        }

        var scaled = Math.Round(value * Pow10[digits]);
        if (!(Math.Abs(scaled) < MaxMantissa))
        {
            return false;
        }

        mantissa = (long)scaled;
        return BitConverter.DoubleToInt64Bits(Value(mantissa, digits)) == BitConverter.DoubleToInt64Bits(value);
    }

    public static double Value(long mantissa, int digits) => mantissa / Pow10[digits];
}
