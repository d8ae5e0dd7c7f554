using System.Text;
using Prometheus;
using Roadmap.Sources;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Tests.Exporting;

public sealed class SignalValuesTests
{
    private static async Task<string> WriteAsync(SignalValues values, ExpositionFormat format = ExpositionFormat.PrometheusText, Func<string, bool>? exported = null)
    {
        using var stream = new MemoryStream();
        await values.WriteAsync(stream, format, exported, CancellationToken.None);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToArray();

    /// <summary>The lines prometheus-net itself writes for the same gauge and values: the format the family had before.</summary>
    private static async Task<string[]> PrometheusNetLinesAsync(string source, (string Signal, double Value)[] samples, ExpositionFormat format)
    {
        var registry = Metrics.NewCustomRegistry();
        var gauge = Metrics.WithCustomRegistry(registry).CreateGauge(SignalValues.Name, SignalValues.Help, ["source", "signal"]);
        foreach (var (signal, value) in samples)
        {
            gauge.WithLabels(source, signal).Set(value);
        }

        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream, format);
        return Lines(Encoding.UTF8.GetString(stream.ToArray()).Replace("# EOF\n", "", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(ExpositionFormat.PrometheusText)]
    [InlineData(ExpositionFormat.OpenMetricsText)]
    public async Task WriteAsync_FiniteValues_AreTheLinesPrometheusNetWrites(ExpositionFormat format)
    {
        (string, double)[] samples = [("up", 1), ("status_code", 200), ("zero", 0), ("minus_one", -1), ("latency_seconds", 0.0123456789), ("negative", -3), ("big_integer", 123456789012), ("huge", 1e21), ("tiny", 5e-324), ("small", 1.5e-7), ("long", 1.2345678901234568e17)];
        var values = new SignalValues();
        values.RowOf("web").Set(samples.Select(s => new Sample(s.Item1, s.Item2)).ToList());

        var ours = await WriteAsync(values, format);

        Assert.Equal(await PrometheusNetLinesAsync("web", samples, format), Lines(ours));
        Assert.StartsWith("# HELP roadmap_signal_value The latest raw sample of each signal.\n# TYPE roadmap_signal_value gauge\n", ours, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ExpositionFormat.PrometheusText)]
    [InlineData(ExpositionFormat.OpenMetricsText)]
    public async Task WriteAsync_NaNAndInfinities_AreWrittenInTheExpositionFormatsSpelling(ExpositionFormat format)
    {
        var values = new SignalValues();
        values.RowOf("web").Set([new("nan", double.NaN), new("plus", double.PositiveInfinity), new("minus", double.NegativeInfinity)]);

        var lines = Lines(await WriteAsync(values, format));

        Assert.Equal(
            [
                "roadmap_signal_value{source=\"web\",signal=\"nan\"} NaN",
                "roadmap_signal_value{source=\"web\",signal=\"plus\"} +Inf",
                "roadmap_signal_value{source=\"web\",signal=\"minus\"} -Inf",
            ],
            lines);
    }

    [Fact]
    public async Task WriteAsync_LabelValuesWithQuotesBackslashesAndNewlines_AreEscaped()
    {
        var values = new SignalValues();
        values.RowOf("we\"b\\x\ny").Set([new("a\"b", 2)]);

        var lines = Lines(await WriteAsync(values));

        Assert.Equal(await PrometheusNetLinesAsync("we\"b\\x\ny", [("a\"b", 2)], ExpositionFormat.PrometheusText), lines);
        Assert.Equal("roadmap_signal_value{source=\"we\\\"b\\\\x\\ny\",signal=\"a\\\"b\"} 2", Assert.Single(lines));
    }

    [Fact]
    public async Task Set_ManySignalsOverPolls_KeepsOneSeriesPerSignalWithItsLatestValue()
    {
        var values = new SignalValues();
        var row = values.RowOf("api");
        for (var poll = 0; poll < 3; poll++)
        {
            // Each poll sets more signals than the last, in another order: the row grows past its first arrays.
            row.Set(Enumerable.Range(0, 10 * (poll + 1)).Reverse().Select(i => new Sample($"s{i}", (poll * 100) + i)).ToList());
        }

        var lines = Lines(await WriteAsync(values));

        Assert.Equal(30, lines.Length);
        Assert.Equal(30, lines.Distinct().Count());
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(200 + i, values.Get("api", $"s{i}"));
            Assert.Contains($"roadmap_signal_value{{source=\"api\",signal=\"s{i}\"}} {200 + i}", lines);
        }
    }

    [Fact]
    public async Task RetainAndForget_DropTheSeriesNamed_AndKeepTheRestWithTheirValues()
    {
        var values = new SignalValues();
        values.RowOf("a").Set([new("up", 1), new("status_code", 503), new("latency_seconds", 0.5)]);
        values.RowOf("b").Set([new("up", 0)]);

        values.Retain("a", ["latency_seconds", "up", "body_bytes"]);
        values.Retain("missing", ["up"]);
        var retained = Lines(await WriteAsync(values));
        values.Forget("b");
        var forgotten = Lines(await WriteAsync(values));

        Assert.Equal(3, retained.Length);
        Assert.Contains("roadmap_signal_value{source=\"a\",signal=\"up\"} 1", retained);
        Assert.Contains("roadmap_signal_value{source=\"a\",signal=\"latency_seconds\"} 0.5", retained);
        Assert.Contains("roadmap_signal_value{source=\"b\",signal=\"up\"} 0", retained);
        Assert.Null(values.Get("a", "status_code"));
        Assert.Equal(["a"], values.Sources);
        Assert.Equal(2, forgotten.Length);
        Assert.DoesNotContain(forgotten, l => l.Contains("source=\"b\"", StringComparison.Ordinal));

        // A signal retained away and emitted again comes back as a new series.
        values.RowOf("a").Set([new("status_code", 200)]);
        Assert.Equal(200, values.Get("a", "status_code"));
    }

    [Fact]
    public async Task WriteAsync_WithAFilter_WritesOnlyTheSourcesItAccepts_ButStillTheFamilysHeader()
    {
        var values = new SignalValues();
        values.RowOf("mine").Set([new("up", 1)]);
        values.RowOf("theirs").Set([new("up", 1)]);

        var text = await WriteAsync(values, exported: id => id == "mine");
        var none = await WriteAsync(values, exported: _ => false);

        Assert.Equal(["roadmap_signal_value{source=\"mine\",signal=\"up\"} 1"], Lines(text));
        Assert.Equal("# HELP roadmap_signal_value The latest raw sample of each signal.\n# TYPE roadmap_signal_value gauge\n", none);
    }

    [Fact]
    public async Task WriteAsync_TenThousandSources_WritesEverySeriesAcrossItsChunks()
    {
        var values = new SignalValues();
        for (var i = 0; i < 10_000; i++)
        {
            values.RowOf($"source-{i:D5}").Set([new("up", 1), new("status_code", 200), new("latency_seconds", i / 1000.0)]);
        }

        var text = await WriteAsync(values, ExpositionFormat.OpenMetricsText);

        var lines = Lines(text);
        Assert.Equal(30_000, lines.Length);
        Assert.Contains("roadmap_signal_value{source=\"source-09999\",signal=\"latency_seconds\"} 9.999", lines);
        Assert.True(text.Length > 64 * 1024, "the output should span several of the writer's chunks");
        Assert.All(lines, l => Assert.Matches("^roadmap_signal_value\\{source=\"source-[0-9]{5}\",signal=\"[a-z_]+\"\\} [0-9.]+$", l));
    }
}
