using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Bench.Storage;

/// <summary>
/// What one retention sweep costs the writer when nothing is old enough to delete, the steady state of a young or
/// well-kept database: N sources of M signals polled every second for
/// the last minutes, all of it still hot (as in the hour before the compactor seals it),
/// then a whole sweep (<see cref="Retention.Step"/> until it has walked every source and series), timed on its thread.
/// </summary>
internal static class RetentionSweep
{
    public static async Task Run(int sources, int signals, int minutes, string path, int sweeps)
    {
        if (!File.Exists(path))
        {
            await Build(sources, signals, minutes, path);
        }

        using var c = new SqliteConnection($"Data Source={path}");
        c.Open();
        var hot = c.ExecuteScalarLong("SELECT count(*) FROM samples;");
        var series = c.ExecuteScalarLong("SELECT count(*) FROM series;");
        for (var s = 0; s < sweeps; s++)
        {
            var retention = new Retention(new StorageOptions(), TimeProvider.System);
            var steps = 0;
            long deleted = 0;
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var cpu = ThreadCpu.Ticks();
            var clock = Stopwatch.StartNew();
            while (retention.Due)
            {
                deleted += retention.Step(c);
                steps++;
            }

            var wall = clock.Elapsed.TotalMilliseconds;
            var cpuMs = ThreadCpu.Ticks() is { } after && cpu is { } before ? TimeSpan.FromTicks(after - before).TotalMilliseconds : double.NaN;
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                bench = "retention-sweep",
                sources,
                signals,
                minutes,
                series,
                hot_rows = hot,
                sweep = s + 1,
                steps,
                deleted,
                wall_ms = Math.Round(wall, 1),
                cpu_ms = Math.Round(cpuMs, 1),
                allocated_mb = Math.Round((GC.GetAllocatedBytesForCurrentThread() - allocated) / 1e6, 2),
            }));
        }
    }

    /// <summary>The polls through the real writer, compaction held off so that every sample stays hot.</summary>
    private static async Task Build(int sources, int signals, int minutes, string path)
    {
        var options = new StorageOptions { Path = path, CompactGrace = TimeSpan.FromDays(3650) };
        var db = StorageBackends.Open(options);
        await using var writer = new BatchedWriter(db, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
        writer.Start();
        var names = Enumerable.Range(0, signals).Select(i => $"signal_{i}").ToArray();
        var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var start = end - (minutes * 60_000L);
        var random = new Random(42);
        for (var t = start; t < end; t += 1000)
        {
            for (var s = 0; s < sources; s++)
            {
                var samples = new List<SignalSample>(signals);
                foreach (var name in names)
                {
                    samples.Add(new SignalSample(name, random.NextDouble()));
                }

                while (!writer.TryEnqueue(new PollRecord($"source-{s:D5}", t, 0.01, true, null, samples)))
                {
                    await Task.Delay(5);
                }
            }

            if (writer.QueueLength > options.QueueCapacity / 2)
            {
                await writer.FlushAsync();
            }
        }

        await writer.FlushAsync();
        Console.Error.WriteLine($"built {path}: {sources} sources x {signals} signals, {minutes} min at 1 s, {writer.SamplesWritten:N0} samples");
    }

    internal static long ExecuteScalarLong(this SqliteConnection c, string sql)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
