using System.Diagnostics;
using System.Globalization;
using Prometheus;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Tests.Exporting;

public sealed class ProcessMetricsTests
{
    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static double Value(string text, string series) => Exposition.Value(text, series);

    [Fact]
    public void Parse_CommandWithSpacesAndParentheses_CountsFieldsFromTheLastParenthesis()
    {
        // Fields 3.. after the command; utime (14) 250, stime (15) 50, num_threads (20) 17.
        var after = string.Join(' ', Enumerable.Range(3, 50).Select(n => n switch { 14 => "250", 15 => "50", 20 => "17", 3 => "S", _ => "0" }));
        var stat = $"4242 (Road map) (x)) {after}\n";

        var parsed = ProcessMetrics.Parse(stat, "1000 200 30 4 0 150 0\n");

        Assert.Equal(new ProcessMetrics.ProcStat(300, 17, 1000, 200, 150), parsed);
    }

    [Theory]
    [InlineData("4242 no command 0 0", "1 2 3 4 5 6 7", "no ')'")]
    [InlineData("4242 (worker) S 1 2", "1 2 3 4 5 6 7", "stat utime")]
    [InlineData("", "1 2", "no ')'")]
    public void Parse_NotTheKernelsFormat_SaysWhichField(string stat, string statm, string expected)
    {
        var error = Assert.Throws<FormatException>(() => ProcessMetrics.Parse(stat, statm));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Parse_ShortStatm_SaysWhichField()
    {
        var after = string.Join(' ', Enumerable.Repeat("1", 50));

        var error = Assert.Throws<FormatException>(() => ProcessMetrics.Parse($"1 (w) {after}", "1 2 3"));

        Assert.Contains("statm data", error.Message);
    }

    [Fact]
    public async Task Register_ExportsTheSameFamiliesAsDotNetStats()
    {
        // The names, help texts and types boards and rules may already use: taken from prometheus-net's own collector.
        var theirs = Metrics.NewCustomRegistry();
        DotNetStats.Register(theirs);
        var ours = Metrics.NewCustomRegistry();
        ProcessMetrics.Register(ours);

        static string[] Descriptions(string text) => [.. text.Split('\n').Where(l => l.StartsWith('#')).Order(StringComparer.Ordinal)];

        var expected = Descriptions(await ScrapeAsync(theirs));
        Assert.NotEmpty(expected);
        Assert.Equal(expected, Descriptions(await ScrapeAsync(ours)));
    }

    [Fact]
    public async Task Scrape_ValuesAgreeWithTheProcess()
    {
        var registry = Metrics.NewCustomRegistry();
        ProcessMetrics.Register(registry);
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime.TotalSeconds;
        var gen0 = GC.CollectionCount(0);

        var text = await ScrapeAsync(registry);

        process.Refresh();
        var fds = Directory.GetFileSystemEntries("/proc/self/fd").Length;
        Assert.InRange(Value(text, "process_open_handles"), fds - 20, fds + 20);
        Assert.InRange(Value(text, "process_num_threads"), 1, process.Threads.Count + 20);
        Assert.InRange(Value(text, "process_cpu_seconds_total"), cpuBefore - 0.02, process.TotalProcessorTime.TotalSeconds + 0.02);
        Assert.InRange(Value(text, "process_working_set_bytes"), process.WorkingSet64 * 0.5, process.WorkingSet64 * 2.0);
        Assert.InRange(Value(text, "process_virtual_memory_bytes"), process.VirtualMemorySize64 * 0.5, process.VirtualMemorySize64 * 2.0);
        Assert.InRange(Value(text, "process_private_memory_bytes"), process.PrivateMemorySize64 * 0.5, process.PrivateMemorySize64 * 2.0);
        Assert.InRange(Value(text, "process_start_time_seconds"), new DateTimeOffset(process.StartTime).ToUnixTimeSeconds() - 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        Assert.True(Value(text, "dotnet_collection_count_total{generation=\"0\"}") >= gen0);
        Assert.True(Value(text, "dotnet_total_memory_bytes") > 0);
    }
}
