using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Bench.Storage;

/// <summary>
/// What an hour's turn costs the writer's memory: N http-like sources of M signals polled every second into the real
/// <see cref="BatchedWriter"/> over a SQLite file, in real time, on a clock that runs from 30 s before 11:00 to 30 s
/// after it (every series' first hour, folded into a new day by a recompute), then jumps to 90 s before 12:00 and runs
/// on to 60 s after it. At 12:00 every series closes hour 11 within a batch or two and folds it into its day by an
/// append, as a service that has run for hours does at every hour's turn. Sampled every 20 ms: the managed heap after
/// the latest collection and the process's RSS; reported for the windows before and after 12:00.
/// </summary>
/// <remarks>Run it with the native build's GC settings (a 4 MiB gen0 budget, <c>DOTNET_GCgen0size=0x400000</c>), so
/// the heap after a collection follows what is live rather than the budget.</remarks>
internal static class HourClose
{
    /// <summary>The writer's clock: real time from a chosen start, moved forward by <see cref="Jump"/>.</summary>
    private sealed class SimClock(long startMs) : TimeProvider
    {
        private readonly long _realStart = Stopwatch.GetTimestamp();
        private long _offsetMs;

        public long NowMs => startMs + Interlocked.Read(ref _offsetMs) + (long)Stopwatch.GetElapsedTime(_realStart).TotalMilliseconds;

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);

        public void Jump(long toMs) => Interlocked.Add(ref _offsetMs, toMs - NowMs);
    }

    private sealed record Window(string Name, long FromMs, long ToMs)
    {
        public long HeapMax { get; set; }

        public long RssMax { get; set; }

        public int Gen2 { get; set; }

        public long Allocated { get; set; }

        /// <summary>The writer's wall time in its steps, and its thread's CPU time, within the window.</summary>
        public TimeSpan WriterBusy { get; set; }

        public TimeSpan WriterCpu { get; set; }
    }

    public static async Task Run(int sources, int signals, string path)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(path + suffix);
        }

        // Noon yesterday (UTC): both hour turns fall in one day, well inside the raw retention.
        var day = DateTimeOffset.UtcNow.Date.AddDays(-1);
        var h11 = new DateTimeOffset(day.AddHours(11), TimeSpan.Zero).ToUnixTimeMilliseconds();
        var h12 = h11 + 3_600_000L;
        var clock = new SimClock(h11 - 30_000);
        var db = RoadmapDatabase.Open(path);
        var writer = new BatchedWriter(db, new StorageOptions(), clock, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        var names = Enumerable.Range(0, signals).Select(s => $"signal_{s}").ToArray();
        var random = new Random(42);

        var windows = new[]
        {
            new Window("before 12:00 (-60 s to 0)", h12 - 60_000, h12),
            new Window("12:00 to +30 s", h12, h12 + 30_000),
            new Window("+30 s to +60 s", h12 + 30_000, h12 + 60_000),
        };
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() => Sample(clock, windows, () => writer.Busy, stop.Token));

        await Produce(writer, clock, sources, names, random, h11 - 30_000, h11 + 30_000);
        await writer.FlushAsync();
        clock.Jump(h12 - 90_000);
        await Produce(writer, clock, sources, names, random, h12 - 90_000, h12 + 60_000);
        await stop.CancelAsync();
        await sampler;
        await writer.DisposeAsync();
        SqliteConnection.ClearAllPools();

        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            c.Open();
            var days = c.ExecuteScalarLong("SELECT count(*) FROM rollups_day;");
            var dayCount = c.ExecuteScalarLong("SELECT coalesce(sum(count), 0) FROM rollups_day;");
            foreach (var w in windows)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    bench = "hour-close",
                    sources,
                    signals,
                    window = w.Name,
                    heap_after_gc_max_mb = Math.Round(w.HeapMax / 1e6, 1),
                    rss_max_mib = Math.Round(w.RssMax / 1048576.0, 1),
                    gen2_collections = w.Gen2,
                    allocated_mb = Math.Round(w.Allocated / 1e6, 1),
                    writer_busy_s = Math.Round(w.WriterBusy.TotalSeconds, 2),
                    writer_cpu_s = Math.Round(w.WriterCpu.TotalSeconds, 2),
                    day_rows = days,
                    day_samples = dayCount,
                    dropped = writer.PollsDropped,
                    load = WriterRun.LoadAverage(),
                }));
            }
        }
    }

    /// <summary>Every simulated second from <paramref name="fromMs"/> to <paramref name="toMs"/>, once the clock has
    /// reached it: a poll of every source, spread over the second's 10-ms slots as the scheduler spreads them.</summary>
    private static async Task Produce(BatchedWriter writer, SimClock clock, int sources, string[] names, Random random, long fromMs, long toMs)
    {
        for (var second = fromMs; second < toMs; second += 1000)
        {
            while (clock.NowMs < second)
            {
                await Task.Delay(5);
            }

            for (var s = 0; s < sources; s++)
            {
                var samples = new SignalSample[names.Length];
                for (var k = 0; k < names.Length; k++)
                {
                    samples[k] = new SignalSample(names[k], Math.Round(random.NextDouble() * 100, 3));
                }

                writer.TryEnqueue(new PollRecord($"source-{s}", second + (s % 100 * 10), 0.01, true, null, samples));
            }
        }
    }

    private static async Task Sample(SimClock clock, Window[] windows, Func<WriterBusy> busy, CancellationToken stop)
    {
        var gen2 = GC.CollectionCount(2);
        var allocated = GC.GetTotalAllocatedBytes();
        var busyAt = busy();
        Window? current = null;
        void Close(Window w)
        {
            var now = busy();
            w.Gen2 = GC.CollectionCount(2) - gen2;
            w.Allocated = GC.GetTotalAllocatedBytes() - allocated;
            w.WriterBusy = Total(now) - Total(busyAt);
            w.WriterCpu = (now.Cpu ?? TimeSpan.Zero) - (busyAt.Cpu ?? TimeSpan.Zero);
        }

        while (!stop.IsCancellationRequested)
        {
            var now = clock.NowMs;
            var w = windows.FirstOrDefault(x => now >= x.FromMs && now < x.ToMs);
            if (w != current)
            {
                if (current is not null)
                {
                    Close(current);
                }

                (current, gen2, allocated, busyAt) = (w, GC.CollectionCount(2), GC.GetTotalAllocatedBytes(), busy());
            }

            if (current is not null)
            {
                current.HeapMax = Math.Max(current.HeapMax, GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes);
                current.RssMax = Math.Max(current.RssMax, Rss());
            }

            try
            {
                await Task.Delay(20, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        if (current is not null)
        {
            Close(current);
        }
    }

    private static TimeSpan Total(WriterBusy b) => b.Batches + b.Rollups + b.Retention + b.Compaction;

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
