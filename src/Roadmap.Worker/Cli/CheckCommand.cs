using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Sources.Network;
using Roadmap.Worker.Scheduling;

namespace Roadmap.Worker.Cli;

/// <summary>
/// The check verb: polls every source once, at the same time, and prints a table. A source whose kind measures
/// changes since the previous reading (<see cref="ISourceKind.NeedsPreviousReading"/>) is read twice,
/// <see cref="SecondReadingDelay"/> apart, and shows the second reading. Exit 1 if any failed.
/// </summary>
public static class CheckCommand
{
    /// <summary>
    /// The wait between the two readings of a source whose first reading is only a baseline: 1 s. Long enough for a
    /// busy cache to see lookups, short enough for a command a person waits on.
    /// </summary>
    public static readonly TimeSpan SecondReadingDelay = TimeSpan.FromSeconds(1);

    private static readonly string[] Header = ["SOURCE", "KIND", "OK", "DURATION", "SIGNALS", "FAILURE"];

    /// <param name="config">The loaded config; every source in it is polled.</param>
    /// <param name="stdout">Where the table goes.</param>
    /// <param name="time">The clock; default the system's.</param>
    /// <param name="kinds">The source kinds; default <see cref="SourceKinds.All"/> (tests add their own).</param>
    public static async Task<int> RunAsync(RoadmapConfig config, TextWriter stdout, TimeProvider? time = null, IReadOnlyList<ISourceKind>? kinds = null)
    {
        time ??= TimeProvider.System;
        var registry = new SourceKindRegistry(kinds ?? SourceKinds.All);
        var context = new SourceContext(time, NullLoggerFactory.Instance, new NetworkPolicy(config.Settings.Network));
        await ScheduleRegistrar.WarmUpAsync(registry, config.Sources.Select(s => s.Kind), context, CancellationToken.None);

        // Through the poll boundary, as the service polls: a source that throws is a FAILED row, not an aborted check.
        var guard = new PollGuard(time, NullLogger.Instance);
        var sources = config.Sources.Select(s => registry.Get(s.Kind).Create(s, context)).ToList();
        var results = await Task.WhenAll(sources.Select(s => guard.PollAsync(s, CancellationToken.None).AsTask()));
        var twice = Enumerable.Range(0, sources.Count)
            .Where(i => results[i].Success && registry.Get(sources[i].Config.Kind).NeedsPreviousReading)
            .ToList();
        if (twice.Count > 0)
        {
            await Task.Delay(SecondReadingDelay, time);
            var second = await Task.WhenAll(twice.Select(i => guard.PollAsync(sources[i], CancellationToken.None).AsTask()));
            for (var k = 0; k < twice.Count; k++)
            {
                results[twice[k]] = second[k];
            }
        }

        foreach (var s in sources)
        {
            await s.DisposeAsync();
        }

        var rows = new List<string[]> { Header };
        for (var i = 0; i < sources.Count; i++)
        {
            var (c, r) = (sources[i].Config, results[i]);
            rows.Add(
            [
                c.Id,
                c.Kind,
                r.Success ? "ok" : "FAILED",
                $"{r.Duration.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)}ms",
                string.Join(" ", r.Samples.Select(x => $"{x.Signal}={x.Value.ToString("G6", CultureInfo.InvariantCulture)}")),
                r.Failure ?? "",
            ]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(col => rows.Max(r => r[col].Length)).ToArray();
        foreach (var row in rows)
        {
            await stdout.WriteLineAsync(string.Join("  ", row.Select((cell, col) => cell.PadRight(widths[col]))).TrimEnd());
        }

        if (twice.Count > 0)
        {
            var seconds = SecondReadingDelay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            await stdout.WriteLineAsync($"read twice, {seconds} s apart (their signals are changes since the previous reading): {string.Join(", ", twice.Select(i => sources[i].Config.Id))}");
        }

        var failed = results.Count(r => !r.Success);
        await stdout.WriteLineAsync($"{results.Length - failed} of {results.Length} sources ok");
        return failed == 0 ? RoadmapCli.Ok : RoadmapCli.RuntimeFailure;
    }
}
