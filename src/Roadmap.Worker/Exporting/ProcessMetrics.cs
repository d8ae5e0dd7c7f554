using System.Diagnostics;
using System.Globalization;
using System.IO.Enumeration;
using Prometheus;

namespace Roadmap.Worker.Exporting;

/// <summary>
/// Process and runtime metrics, under the names and help texts prometheus-net's DotNetStats gives them (so boards and
/// rules that use them keep working), read on each scrape straight from /proc/self: two small files and a count of
/// the fd directory. DotNetStats reads them through <see cref="Process"/>, whose Refresh and per-property parsing took
/// about 3 of the 7.7 ms a 10,000-series /metrics took (p50, bench/load). Where /proc is missing (not Linux),
/// <see cref="Register"/> registers DotNetStats itself.
/// </summary>
public sealed class ProcessMetrics
{
    // The kernel reports CPU times in USER_HZ ticks, which is 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100;

    private readonly Counter _cpuSeconds;
    private readonly Gauge _virtualBytes;
    private readonly Gauge _workingSetBytes;
    private readonly Gauge _privateBytes;
    private readonly Gauge _openHandles;
    private readonly Gauge _threads;
    private readonly Gauge _totalMemory;
    private readonly Counter.Child[] _generations;

    private ProcessMetrics(CollectorRegistry registry)
    {
        var f = Metrics.WithCustomRegistry(registry);
        var collections = f.CreateCounter("dotnet_collection_count_total", "GC collection count", ["generation"]);
        _generations = [.. Enumerable.Range(0, GC.MaxGeneration + 1).Select(g => collections.WithLabels(g.ToString(CultureInfo.InvariantCulture)))];
        using (var process = Process.GetCurrentProcess())
        {
            f.CreateGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
                .Set(new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        }

        _cpuSeconds = f.CreateCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
        _virtualBytes = f.CreateGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
        _workingSetBytes = f.CreateGauge("process_working_set_bytes", "Process working set");
        _privateBytes = f.CreateGauge("process_private_memory_bytes", "Process private memory size");
        _openHandles = f.CreateGauge("process_open_handles", "Number of open handles");
        _threads = f.CreateGauge("process_num_threads", "Total number of threads");
        _totalMemory = f.CreateGauge("dotnet_total_memory_bytes", "Total known allocated memory");
    }

    /// <summary>Adds the metrics to <paramref name="registry"/>, updated before each collection: from /proc/self where
    /// there is one, else through prometheus-net's DotNetStats (the same families).</summary>
    public static void Register(CollectorRegistry registry)
    {
        if (!File.Exists("/proc/self/stat") || !File.Exists("/proc/self/statm"))
        {
            DotNetStats.Register(registry);
            return;
        }

        registry.AddBeforeCollectCallback(new ProcessMetrics(registry).Update);
    }

    /// <summary>The fields of /proc/self/stat and /proc/self/statm these metrics use.</summary>
    /// <param name="CpuTicks">utime + stime, in USER_HZ ticks.</param>
    /// <param name="Threads">num_threads.</param>
    /// <param name="VirtualPages">statm size.</param>
    /// <param name="ResidentPages">statm resident.</param>
    /// <param name="DataPages">statm data (data + stack): what <see cref="Process.PrivateMemorySize64"/> reports on Linux.</param>
    public readonly record struct ProcStat(long CpuTicks, long Threads, long VirtualPages, long ResidentPages, long DataPages);

    /// <summary>Parses the two files' text.</summary>
    /// <exception cref="FormatException">Either text is not in the kernel's format.</exception>
    public static ProcStat Parse(string stat, string statm)
    {
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted from the last ')'.
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            throw new FormatException("/proc/self/stat has no ')' closing the command name");
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var pages = statm.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        // After the command: field 3 (state) is index 0, so field n is index n - 3 (proc(5)).
        return new ProcStat(
            Field(fields, 14 - 3, "stat utime") + Field(fields, 15 - 3, "stat stime"),
            Field(fields, 20 - 3, "stat num_threads"),
            Field(pages, 0, "statm size"),
            Field(pages, 1, "statm resident"),
            Field(pages, 5, "statm data"));
    }

    private static long Field(string[] fields, int index, string name) =>
        index < fields.Length && long.TryParse(fields[index], NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"/proc/self/{name} is missing or not a number");

    private void Update()
    {
        for (var g = 0; g < _generations.Length; g++)
        {
            _generations[g].IncTo(GC.CollectionCount(g));
        }

        _totalMemory.Set(GC.GetTotalMemory(false));
        var s = Parse(File.ReadAllText("/proc/self/stat"), File.ReadAllText("/proc/self/statm"));
        long page = Environment.SystemPageSize;
        _cpuSeconds.IncTo(s.CpuTicks / TicksPerSecond);
        _threads.Set(s.Threads);
        _virtualBytes.Set(s.VirtualPages * page);
        _workingSetBytes.Set(s.ResidentPages * page);
        _privateBytes.Set(s.DataPages * page);
        _openHandles.Set(CountOpenFds());
    }

    /// <summary>The entries of /proc/self/fd, counted without making a string per entry.</summary>
    private static int CountOpenFds()
    {
        var count = 0;
        var entries = new FileSystemEnumerable<bool>("/proc/self/fd", (ref FileSystemEntry _) => true, new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 });
        foreach (var unused in entries)
        {
            count++;
        }

        return count;
    }
}
