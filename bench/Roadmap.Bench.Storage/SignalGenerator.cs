using Roadmap.Core.Evaluation;

namespace Roadmap.Bench.Storage;

/// <summary>The kinds of signal the generator makes, each shaped like what Roadmap's sources report.</summary>
internal enum SignalKind
{
    /// <summary>An http/tcp/dns probe's <c>up</c>: 1, with rare failures, alone or in runs (an outage).</summary>
    Up,

    /// <summary>A probe's <c>*_seconds</c>: log-normal around the target's own median, a daily swing and rare spikes,
    /// rounded to microseconds.</summary>
    Latency,

    /// <summary>A monotonic counter (<c>*_total</c>): integer increments around a steady rate, reset to 0 on a
    /// restart.</summary>
    Counter,

    /// <summary>A cache hit ratio: hits / lookups of the interval's counts, a full-precision double (the redis kind's
    /// <c>hit_ratio</c>).</summary>
    Ratio,

    /// <summary>A slowly varying gauge: an integer level that changes now and then (connections), a percentage to
    /// two places drifting around a mean (CPU), or bytes in pages growing until a drop (memory).</summary>
    Gauge,
}

/// <summary>One generated series: its kind, its poll interval and the seed of its randomness.</summary>
internal sealed record SeriesSpec(int Index, SignalKind Kind, int IntervalMs, int Seed);

/// <summary>
/// A deterministic generator of realistic samples for the storage benchmarks: the same arguments give the same
/// samples on every machine. Random doubles compress like nothing real does, so each kind follows its signal's shape
/// (see <see cref="SignalKind"/>), on a regular schedule with a few ms of lateness, rare late polls (up to seconds),
/// missed ticks, duplicate timestamps and polls that arrive out of order.
/// </summary>
internal static class SignalGenerator
{
    /// <summary>The share of each kind in the realistic mix: probes dominate (an http source gives up and latencies),
    /// then gauges and counters of prometheus/json sources, then cache ratios.</summary>
    public static readonly IReadOnlyList<(SignalKind Kind, double Share)> Mix =
    [
        (SignalKind.Up, 0.25),
        (SignalKind.Latency, 0.35),
        (SignalKind.Counter, 0.15),
        (SignalKind.Ratio, 0.05),
        (SignalKind.Gauge, 0.20),
    ];

    /// <summary><paramref name="series"/> series in the shares of <see cref="Mix"/>; three in four polled every 10 s,
    /// the rest every 60 s.</summary>
    public static List<SeriesSpec> Series(int series, int seed = 20261205)
    {
        var specs = new List<SeriesSpec>(series);
        for (var i = 0; i < series; i++)
        {
            // Kinds by cumulative share of the series' position, so every count gets the shares as closely as it can.
            var position = (i + 0.5) / series;
            var kind = Mix[^1].Kind;
            var cumulative = 0.0;
            foreach (var (k, share) in Mix)
            {
                cumulative += share;
                if (position < cumulative)
                {
                    kind = k;
                    break;
                }
            }

            // Not HashCode.Combine: it is randomized per process, and the dataset must be the same in every run.
            specs.Add(new SeriesSpec(i, kind, i % 4 == 3 ? 60_000 : 10_000, unchecked((seed * 7_919) + (i * 104_729)) & int.MaxValue));
        }

        return specs;
    }

    /// <summary>The samples of <paramref name="spec"/> scheduled in [<paramref name="startMs"/>,
    /// <paramref name="endMs"/>), in arrival order (a few out of time order, a few sharing a timestamp).</summary>
    public static List<Point> Generate(SeriesSpec spec, long startMs, long endMs)
    {
        var random = new Random(spec.Seed);
        var value = ValueSource(spec.Kind, spec.IntervalMs, random);
        var points = new List<Point>((int)((endMs - startMs) / spec.IntervalMs) + 16);
        for (var scheduled = startMs; scheduled < endMs; scheduled += spec.IntervalMs)
        {
            var roll = random.NextDouble();
            if (roll < 1.0 / 2000)
            {
                continue; // a missed tick: the previous poll still ran
            }

            // Lateness: a few ms usually (the scheduler and the probe's start), rarely hundreds of ms to seconds.
            var late = roll < 1.0 / 2000 + 1.0 / 1000
                ? random.Next(100, 3000)
                : Math.Min(9, (int)(-1.5 * Math.Log(1 - random.NextDouble())));
            var ts = scheduled + late;
            var v = value(ts);
            if (v is not { } sample)
            {
                continue; // no reading this interval (a ratio with no lookups)
            }

            points.Add(new Point(ts, sample));
            var odd = random.NextDouble();
            if (odd < 1.0 / 5000)
            {
                points.Add(new Point(ts, value(ts) ?? sample)); // a duplicate: the poll recorded twice
            }
            else if (odd < 2.0 / 5000 && points.Count >= 2)
            {
                (points[^1], points[^2]) = (points[^2], points[^1]); // arrived before the previous poll's sample
            }
        }

        return points;
    }

    private static Func<long, double?> ValueSource(SignalKind kind, int intervalMs, Random random) => kind switch
    {
        SignalKind.Up => UpSource(random),
        SignalKind.Latency => LatencySource(random),
        SignalKind.Counter => CounterSource(intervalMs, random),
        SignalKind.Ratio => RatioSource(intervalMs, random),
        _ => GaugeSource(random),
    };

    private static Func<long, double?> UpSource(Random random)
    {
        var down = 0;
        return _ =>
        {
            if (down > 0)
            {
                down--;
                return 0;
            }

            var roll = random.NextDouble();
            if (roll < 1.0 / 3000)
            {
                down = 1 + (int)(-4 * Math.Log(1 - random.NextDouble())); // an outage of a few polls
                return 0;
            }

            return roll < 1.0 / 3000 + 1.0 / 2000 ? 0 : 1; // a lone failed probe
        };
    }

    private static Func<long, double?> LatencySource(Random random)
    {
        var median = Math.Exp(Uniform(random, Math.Log(0.003), Math.Log(0.3)));
        var sigma = Uniform(random, 0.15, 0.6);
        var phase = random.NextDouble() * 2 * Math.PI;
        return ts =>
        {
            var daily = 1 + (0.3 * Math.Sin((2 * Math.PI * ts / 86_400_000.0) + phase));
            var spike = random.NextDouble() < 1.0 / 500 ? Uniform(random, 3, 10) : 1;
            return Math.Round(median * daily * spike * Math.Exp(sigma * Gauss(random)), 6);
        };
    }

    private static Func<long, double?> CounterSource(int intervalMs, Random random)
    {
        var perSecond = Math.Exp(Uniform(random, Math.Log(0.1), Math.Log(2000)));
        var total = Math.Floor(random.NextDouble() * 1e9);
        return ts =>
        {
            if (random.NextDouble() < 1.0 / 50_000)
            {
                total = 0; // the target restarted
            }

            var daily = 1 + (0.5 * Math.Sin(2 * Math.PI * ts / 86_400_000.0));
            var mean = perSecond * daily * intervalMs / 1000;
            total += Math.Max(0, Math.Round(mean + (Math.Sqrt(mean) * Gauss(random))));
            return total;
        };
    }

    private static Func<long, double?> RatioSource(int intervalMs, Random random)
    {
        var lookupsPerSecond = Math.Exp(Uniform(random, Math.Log(0.5), Math.Log(500)));
        var missRate = Math.Exp(Uniform(random, Math.Log(0.001), Math.Log(0.2)));
        return ts =>
        {
            var mean = lookupsPerSecond * intervalMs / 1000;
            var lookups = Math.Max(0, Math.Round(mean + (Math.Sqrt(mean) * Gauss(random))));
            if (lookups == 0)
            {
                return null;
            }

            var missMean = lookups * missRate * (1 + (0.5 * Math.Sin(2 * Math.PI * ts / 86_400_000.0)));
            var misses = Math.Clamp(Math.Round(missMean + (Math.Sqrt(missMean) * Gauss(random))), 0, lookups);
            return (lookups - misses) / lookups;
        };
    }

    private static Func<long, double?> GaugeSource(Random random)
    {
        switch (random.Next(3))
        {
            case 0:
            {
                var level = (double)random.Next(5, 500); // open connections: an integer that changes now and then
                return _ =>
                {
                    if (random.NextDouble() < 0.3)
                    {
                        level = Math.Max(0, level + random.Next(-3, 4));
                    }

                    return level;
                };
            }

            case 1:
            {
                var mean = Uniform(random, 5, 80); // CPU percent to two places, drifting around its mean
                var x = mean;
                return _ =>
                {
                    x += (0.05 * (mean - x)) + (0.5 * Gauss(random));
                    return Math.Round(Math.Clamp(x, 0, 100), 2);
                };
            }

            default:
            {
                var pages = (double)random.Next(10_000, 1_000_000); // resident memory in 4 KiB pages, grown until a GC
                return _ =>
                {
                    pages = random.NextDouble() < 0.002 ? Math.Floor(pages * 0.7) : pages + random.Next(0, 40);
                    return pages * 4096;
                };
            }
        }
    }

    private static double Uniform(Random random, double from, double to) => from + (random.NextDouble() * (to - from));

    private static double Gauss(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
