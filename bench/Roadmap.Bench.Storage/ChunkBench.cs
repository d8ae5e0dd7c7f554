using System.Diagnostics;
using System.Text.Json;
using K4os.Compression.LZ4;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Bench.Storage;

/// <summary>
/// <c>codec --series 200 --days 2</c>: the chunk codec candidates on the generator's realistic series, in chunks of a
/// UTC hour, of a UTC day, and of an hour at 10 s but a day at 60 s. For each candidate and chunk size, one JSON line
/// per signal kind and one for the whole mix: bytes per sample (header and checksum included), encode and decode
/// rates. Every chunk's round trip is checked bit for bit first; a candidate that fails it stops the run.
/// </summary>
internal static class ChunkBench
{
    private const int RawBytesPerSample = 16; // a (long ms, double) pair

    public static void Run(int seriesCount, int days, double seconds)
    {
        var start = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var end = start + (days * 86_400_000L);
        var specs = SignalGenerator.Series(seriesCount);
        // The store keeps a series sorted by time, so a chunk is sealed from sorted samples (duplicates stay).
        var series = specs.Select(s => (s.Kind, s.IntervalMs, Points: SignalGenerator.Generate(s, start, end).OrderBy(p => p.TimestampMs).ToArray())).ToList();
        Emit(new
        {
            bench = "codec-dataset",
            series = seriesCount,
            days,
            samples = series.Sum(s => s.Points.Length),
            fingerprint = Fingerprint(series.SelectMany(s => s.Points)),
            kinds = series.GroupBy(s => s.Kind).Select(g => new { kind = g.Key.ToString(), series = g.Count(), samples = g.Sum(s => s.Points.Length) }),
        });

        ChunkCandidate[] candidates =
        [
            new ShippedCodec(),
            new HandBlockPack(thenZstd: false),
            new GorillaCodec(),
            TransformThenCompress.Zstd(decimals: false, 3),
            TransformThenCompress.Zstd(decimals: true, 9),
            TransformThenCompress.Zstd(decimals: true, 19),
            TransformThenCompress.Lz4(LZ4Level.L00_FAST),
            TransformThenCompress.Lz4(LZ4Level.L09_HC),
            new HandBlockPack(thenZstd: true),
        ];
        // An hour, a day, and an hour for 10 s series but a day for 60 s ones (so no chunk holds fewer than 360).
        foreach (var (label, size) in new (string, Func<int, long>)[] { ("hour", _ => 3_600_000L), ("day", _ => 86_400_000L), ("hour at 10 s, day at 60 s", i => i <= 10_000 ? 3_600_000L : 86_400_000L) })
        {
            var chunks = series
                .SelectMany(s => s.Points.GroupBy(p => p.TimestampMs - (p.TimestampMs % size(s.IntervalMs))).Select(g => (s.Kind, Points: g.ToArray())))
                .ToList();
            Emit(new { bench = "codec-chunks", chunk = label, chunks = chunks.Count, meanSamples = Math.Round(chunks.Average(c => c.Points.Length), 1), headerAndCrcBytesPerSample = Math.Round(chunks.Sum(c => HeaderBytes(c.Points)) / (double)chunks.Sum(c => c.Points.Length), 3) });
            foreach (var candidate in candidates)
            {
                Measure(candidate, label, chunks, seconds);
            }
        }
    }

    private static void Measure(ChunkCandidate candidate, string label, List<(SignalKind Kind, Point[] Points)> chunks, double seconds)
    {
        var encoded = chunks.Select(c => candidate.Encode(c.Points)).ToList();
        for (var i = 0; i < chunks.Count; i++)
        {
            var back = candidate.Decode(encoded[i]);
            if (!back.AsSpan().SequenceEqual(chunks[i].Points) || !back.Select(p => BitConverter.DoubleToInt64Bits(p.Value)).SequenceEqual(chunks[i].Points.Select(p => BitConverter.DoubleToInt64Bits(p.Value))))
            {
                throw new InvalidOperationException($"{candidate.Name}: chunk {i} ({chunks[i].Kind}) does not round-trip");
            }
        }

        var samples = chunks.Sum(c => (long)c.Points.Length);
        var encodeRate = Rate(samples, seconds, () =>
        {
            foreach (var c in chunks)
            {
                candidate.Encode(c.Points);
            }
        });
        var decodeRate = Rate(samples, seconds, () =>
        {
            foreach (var e in encoded)
            {
                candidate.Decode(e);
            }
        });
        foreach (var kind in chunks.Select(c => c.Kind).Distinct().Order())
        {
            var bytes = Enumerable.Range(0, chunks.Count).Where(i => chunks[i].Kind == kind).Sum(i => (long)encoded[i].Length);
            var count = chunks.Where(c => c.Kind == kind).Sum(c => (long)c.Points.Length);
            Emit(new { bench = "codec", chunk = label, candidate = candidate.Name, kind = kind.ToString(), bytesPerSample = Math.Round(bytes / (double)count, 3) });
        }

        Emit(new
        {
            bench = "codec",
            chunk = label,
            candidate = candidate.Name,
            kind = "mix",
            bytesPerSample = Math.Round(encoded.Sum(e => (long)e.Length) / (double)samples, 3),
            encodeSamplesPerSecond = Math.Round(encodeRate),
            encodeMBps = Math.Round(encodeRate * RawBytesPerSample / 1e6, 1),
            decodeSamplesPerSecond = Math.Round(decodeRate),
            decodeMBps = Math.Round(decodeRate * RawBytesPerSample / 1e6, 1),
        });
    }

    /// <summary>Samples per second of <paramref name="pass"/> over <paramref name="samples"/>, repeated for at least
    /// <paramref name="seconds"/> after one warm-up pass.</summary>
    private static double Rate(long samples, double seconds, Action pass)
    {
        pass();
        var clock = Stopwatch.StartNew();
        var passes = 0;
        do
        {
            pass();
            passes++;
        }
        while (clock.Elapsed.TotalSeconds < seconds);
        return samples * passes / clock.Elapsed.TotalSeconds;
    }

    private static int HeaderBytes(Point[] points)
    {
        var w = new ChunkWriter(64);
        w.WriteByte(1);
        w.WriteVarint((ulong)points.Length);
        ChunkCodec.WriteHeader(w, ChunkCodec.Summarize(points));
        return w.Length + 4;
    }

    /// <summary>FNV-1a over every timestamp and value bit pattern: equal in two runs when the dataset is.</summary>
    private static string Fingerprint(IEnumerable<Point> points)
    {
        var h = 14_695_981_039_346_656_037UL;
        foreach (var p in points)
        {
            h = (h ^ (ulong)p.TimestampMs) * 1_099_511_628_211UL;
            h = (h ^ (ulong)BitConverter.DoubleToInt64Bits(p.Value)) * 1_099_511_628_211UL;
        }

        return h.ToString("x16");
    }

    private static void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));
}
