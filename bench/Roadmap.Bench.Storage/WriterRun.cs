using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Storage;

/// <summary>The ingest measurement through the real writer, the same for every backend.</summary>
internal static class WriterRun
{
    /// <summary>
    /// Polls of <paramref name="series"/> interleaved series (<paramref name="perPoll"/> signals per poll, a tick a
    /// simulated second from <paramref name="t0"/>) flat out into a <see cref="BatchedWriter"/> over
    /// <paramref name="db"/> for <paramref name="seconds"/>; prints and returns the rate.
    /// </summary>
    /// <param name="clock">
    /// "data" (the default): the writer's clock is the data's, the time of the newest poll it has taken from its
    /// queue, as a live service's clock is its polls' time; hours end, are sealed after their grace and have their
    /// rows rewritten as they do in a live service, only faster. "wall": the system clock, against data that starts
    /// at <paramref name="t0"/> and runs about 400 times faster than it; data in the past then has every hour ended
    /// and closed while it is still being written (the writer rewrites and the compactor seals the hour being filled),
    /// data near now runs into the future, where no hour ever ends.
    /// </param>
    public static async Task<(double Rate, long Samples)> Measure(IRoadmapStorage db, int series, int seconds, int perPoll, long t0, string target, string clock = "data")
    {
        var storage = new StorageOptions();
        var sources = series / perPoll;
        if (sources < 1)
        {
            // Nothing to poll; the data clock divides its queue by the sources a tick holds.
            throw new ArgumentException($"--series {series} is fewer than --signals-per-poll {perPoll}: not one source to poll");
        }

        BatchedWriter? running = null;
        var dataClock = new DataClock(t0, sources, () => running?.QueueLength ?? 0);
        var writer = new BatchedWriter(db, storage, clock switch
        {
            "data" => dataClock,
            "wall" => TimeProvider.System,
            _ => throw new ArgumentException($"--clock {clock}: data or wall"),
        }, NullLogger<BatchedWriter>.Instance);
        running = writer;
        writer.Start();
        var signals = Enumerable.Range(0, perPoll).Select(s => $"signal_{s}").ToArray();
        var random = new Random(42);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var warmup = TimeSpan.FromSeconds(Math.Min(2, seconds / 5.0));

        // Measured from the first commit after the warm-up to the last commit before the end: samples arrive in the
        // count a whole batch (up to 200,000) at a time, so counting over a fixed window instead would round the rate
        // to a multiple of a batch per window (about 11,000 samples/s in 18 s).
        // The process's CPU time over the same span: on a shared machine the wall-clock rate measures the neighbours
        // too, while samples per CPU-second (writer and producer together) mostly does not.
        long firstSamples = -1, lastSamples = -1;
        TimeSpan firstCommit = TimeSpan.Zero, lastCommit = TimeSpan.Zero, firstCpu = TimeSpan.Zero, lastCpu = TimeSpan.Zero;
        long seen = writer.SamplesWritten;
        long tick = 0;
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var now = stopwatch.Elapsed;
            var written = writer.SamplesWritten;
            if (written != seen)
            {
                seen = written;
                if (now >= warmup)
                {
                    var cpuNow = Process.GetCurrentProcess().TotalProcessorTime;
                    if (firstSamples < 0)
                    {
                        (firstSamples, firstCommit, firstCpu) = (written, now, cpuNow);
                    }

                    (lastSamples, lastCommit, lastCpu) = (written, now, cpuNow);
                }
            }

            // Flat out, but without drops: a producer that outruns the writer waits for queue room.
            if (writer.QueueLength > storage.QueueCapacity * 0.9)
            {
                await Task.Delay(1);
                continue;
            }

            for (var s = 0; s < sources; s++)
            {
                var samples = new SignalSample[perPoll];
                for (var k = 0; k < perPoll; k++)
                {
                    samples[k] = new SignalSample(signals[k], Math.Round(random.NextDouble() * 100, 3));
                }

                writer.TryEnqueue(new PollRecord($"source-{s}", t0 + (tick * 1000), 0.01, true, null, samples));
            }

            tick++;
            dataClock.Advance(tick);
        }

        var measured = lastSamples - firstSamples;
        var elapsed = lastCommit - firstCommit;
        if (measured <= 0 || elapsed <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"fewer than two commits after the {warmup.TotalSeconds} s warm-up: run longer than {seconds} s");
        }

        var rate = measured / elapsed.TotalSeconds;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        // Where the writer's time went, by step, over the whole run (warm-up included): batches, rollups, retention,
        // compaction, each its wall time; and the CPU of all steps where the platform reads a thread's CPU.
        var busy = writer.Busy;
        await writer.DisposeAsync();
        Console.WriteLine(JsonSerializer.Serialize(new { bench = "ingest", target, loadAverage = LoadAverage(), processCpuSeconds = Math.Round(cpu.TotalSeconds, 1), series, signalsPerPoll = perPoll, seconds = Math.Round(elapsed.TotalSeconds, 2), samples = measured, samplesPerSecond = Math.Round(rate), samplesPerCpuSecond = Math.Round(measured / (lastCpu - firstCpu).TotalSeconds), batches = writer.Batches, dropped = writer.PollsDropped, simulatedHours = Math.Round(tick / 3600.0, 2), clock, writerSeconds = new { batches = Math.Round(busy.Batches.TotalSeconds, 2), rollups = Math.Round(busy.Rollups.TotalSeconds, 2), retention = Math.Round(busy.Retention.TotalSeconds, 2), compaction = Math.Round(busy.Compaction.TotalSeconds, 2), cpu = busy.Cpu is { } c ? Math.Round(c.TotalSeconds, 2) : (double?)null } }));
        return (rate, measured);
    }

    /// <summary>
    /// The data's clock: the end of the newest tick enqueued, less the ticks still waiting in the writer's queue (a
    /// tick is <c>sources</c> polls), so about the newest poll the writer has taken. A live service's writer sees the
    /// same: its clock is its polls' time, half a second behind at most.
    /// </summary>
    private sealed class DataClock(long t0, int sources, Func<int> queued) : TimeProvider
    {
        private long _ticks;

        public void Advance(long ticks) => Volatile.Write(ref _ticks, ticks);

        public override DateTimeOffset GetUtcNow() =>
            DateTimeOffset.FromUnixTimeMilliseconds(t0 + (Math.Max(0, Volatile.Read(ref _ticks) - (queued() / sources)) * 1000));
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
