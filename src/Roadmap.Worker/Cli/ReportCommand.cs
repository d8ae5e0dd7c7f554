using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Cli;

/// <summary>
/// The report verb: judges every KPI on what the database holds now and prints the roadmap table as markdown, HTML or
/// JSON, the same table as the board. It never creates a database: a missing one is exit 1.
/// </summary>
public static class ReportCommand
{
    /// <param name="format">markdown (the default), html or json; anything else is a usage error (exit 2).</param>
    public static async Task<int> RunAsync(RoadmapConfig config, string databasePath, string format, TextWriter stdout, TextWriter stderr, TimeProvider? time = null)
    {
        if (!ReportFormats.TryParse(format, out var parsed))
        {
            await stderr.WriteLineAsync($"error: unknown format \"{format}\"; expected {ReportFormats.Expected}");
            return RoadmapCli.BadConfigOrUsage;
        }

        var full = Path.GetFullPath(databasePath);
        if (!File.Exists(full))
        {
            await stderr.WriteLineAsync($"error: no database at {full}: the report reads what the service has stored (start it with run, or pass --database); none was created");
            return RoadmapCli.RuntimeFailure;
        }

        IRoadmapStorage storage;
        try
        {
            storage = StorageBackends.Open(new StorageOptions { Path = full }, time);
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return RoadmapCli.RuntimeFailure;
        }

        // The service's own evaluator on the stored samples, so the report says what the board would say now. Its
        // metrics go to a registry of its own that nobody scrapes.
        var evaluation = new EvaluationService(
            config,
            storage.Samples,
            storage.Evaluations,
            new RoadmapMetrics(Metrics.NewCustomRegistry()),
            time ?? TimeProvider.System);
        RoadmapSnapshot snapshot;
        try
        {
            snapshot = evaluation.EvaluateAll(storeHistory: false);
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"error: cannot read the database {storage.Location}: {e.Message}");
            return RoadmapCli.RuntimeFailure;
        }

        await stdout.WriteAsync(parsed.Render(RoadmapViewBuilder.Build(config, snapshot)));
        return RoadmapCli.Ok;
    }
}
