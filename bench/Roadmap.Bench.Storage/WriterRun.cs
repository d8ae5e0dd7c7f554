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
    public static async Task<(double Rate, long Samples)> Measure(IRoadmapStorage db, int series, int seconds, int perPoll, long t0, string target)
    {
        var storage = new StorageOptions();
        var writer = new BatchedWriter(db, storage, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        var sources = series / perPoll;
        var signals = Enumerable.Range(0, perPoll).Select(s => $"signal_{s}").ToArray();
        var random = new Random(42);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
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
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var now = clock.Elapsed;
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
        }

        var measured = lastSamples - firstSamples;
        var elapsed = lastCommit - firstCommit;
        if (measured <= 0 || elapsed <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"fewer than two commits after the {warmup.TotalSeconds} s warm-up: run longer than {seconds} s");
        }

        var rate = measured / elapsed.TotalSeconds;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        await writer.DisposeAsync();
        Console.WriteLine(JsonSerializer.Serialize(new { bench = "ingest", target, loadAverage = LoadAverage(), processCpuSeconds = Math.Round(cpu.TotalSeconds, 1), series, signalsPerPoll = perPoll, seconds = Math.Round(elapsed.TotalSeconds, 2), samples = measured, samplesPerSecond = Math.Round(rate), samplesPerCpuSecond = Math.Round(measured / (lastCpu - firstCpu).TotalSeconds), batches = writer.Batches, dropped = writer.PollsDropped, simulatedHours = Math.Round(tick / 3600.0, 2) }));
        return (rate, measured);
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
