using System.Diagnostics;
using System.Text.Json;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;

/// <summary>Evaluation rounds over a store, the same for every backend: five rounds of 1,000 window summaries, each
/// round's windows <see cref="RoundStep"/> later than the last one's, as a live evaluator's are (so a round may take
/// what the one before kept, but only what is still true a round later), and one a day earlier.</summary>
internal static class EvaluationRounds
{
    /// <summary>Even KPIs average, odd ones take the p95.</summary>
    public static Aggregate AggregateOf(int k) => k % 2 == 0 ? Aggregate.Avg : Aggregate.P95;

    /// <summary>How much later each round's windows are than the round before's: 10 s.</summary>
    public static readonly TimeSpan RoundStep = TimeSpan.FromSeconds(10);

    /// <summary>Rounds per run: 5.</summary>
    public const int Rounds = 5;

    /// <summary>Five rounds, each one read session summarizing every KPI's window, the first [from, now], each next
    /// one <see cref="RoundStep"/> later; then a sixth whose windows are a day earlier than the fifth's (what a round
    /// after midnight reads again: a window's first and last days moved); prints each round (wall time, and this
    /// process's CPU time: on a loaded machine the difference is mostly waiting for a CPU, the server's included);
    /// returns the fifth round's values, KPI by KPI, and its window.</summary>
    public static (double?[] Values, DateTimeOffset From, DateTimeOffset To) Run(ISampleReader reader, IReadOnlyList<(string Source, string Signal)> names, int kpis, int days, DateTimeOffset from, DateTimeOffset now, string backend)
    {
        var values = new double?[kpis];
        for (var round = 1; round <= Rounds; round++)
        {
            if (round > 1)
            {
                from += RoundStep;
                now += RoundStep;
            }

            Round(reader, names, kpis, days, from, now, backend, round.ToString(System.Globalization.CultureInfo.InvariantCulture), values);
        }

        Round(reader, names, kpis, days, from.AddDays(-1), now.AddDays(-1), backend, "a day earlier", new double?[kpis]);
        return (values, from, now);
    }

    private static void Round(ISampleReader reader, IReadOnlyList<(string Source, string Signal)> names, int kpis, int days, DateTimeOffset from, DateTimeOffset now, string backend, string round, double?[] values)
    {
        var clock = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        long samples = 0;
        using (var session = reader.OpenSession())
        {
            for (var k = 0; k < kpis; k++)
            {
                var (source, signal) = names[k % names.Count];
                var summary = session.Summarize(source, signal, from, now);
                samples += summary.Count;
                values[k] = Aggregates.Compute(AggregateOf(k), summary, null);
            }
        }

        Console.WriteLine(JsonSerializer.Serialize(new { bench = "evaluate", backend, round, kpis, windowDays = days, aggregates = "avg, p95 (alternating)", samplesCovered = samples, seconds = Math.Round(clock.Elapsed.TotalSeconds, 3), processCpuSeconds = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, 3), loadAverage = WriterRun.LoadAverage() }));
    }
}
