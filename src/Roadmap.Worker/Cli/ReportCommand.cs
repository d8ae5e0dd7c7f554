using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Exporting;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Updates;

namespace Roadmap.Worker.Cli;

/// <summary>
/// The report verb: judges every KPI on what the database holds now and prints the roadmap table as markdown, HTML or
/// JSON, the same table as the board. It never creates a database: a missing one is exit 1.
/// </summary>
public static class ReportCommand
{
    /// <param name="format">markdown (the default), html or json; anything else is a usage error (exit 2).</param>
    /// <param name="since">With a value, what changed since then comes first, as the scheduled updates say it: a date
    /// (YYYY-MM-DD, from the start of that day in settings.timezone) or an ISO-8601 instant; anything else is a usage
    /// error (exit 2).</param>
    public static Task<int> RunAsync(RoadmapConfig config, string databasePath, string format, TextWriter stdout, TextWriter stderr, TimeProvider? time = null, string? since = null) =>
        RunAsync(config, new StorageOptions { Path = databasePath }, format, stdout, stderr, time, since);

    /// <param name="storageOptions">The store to read: for SQLite, a file that must exist (none is created).</param>
    public static async Task<int> RunAsync(RoadmapConfig config, StorageOptions storageOptions, string format, TextWriter stdout, TextWriter stderr, TimeProvider? time = null, string? since = null)
    {
        if (!ReportFormats.TryParse(format, out var parsed))
        {
            await stderr.WriteLineAsync($"error: unknown format \"{format}\"; expected {ReportFormats.Expected}");
            return RoadmapCli.BadConfigOrUsage;
        }

        DateTimeOffset? from = null;
        if (since is not null)
        {
            if (!TryParseSince(since, config.Settings.TimeZone, out var instant))
            {
                await stderr.WriteLineAsync($"error: bad --since \"{since}\": expected a date (YYYY-MM-DD) or an ISO-8601 instant such as 2026-11-19T09:00:00Z");
                return RoadmapCli.BadConfigOrUsage;
            }

            from = instant;
        }

        if (storageOptions.Kind == StorageKind.Sqlite)
        {
            var full = Path.GetFullPath(storageOptions.Path);
            if (!File.Exists(full))
            {
                await stderr.WriteLineAsync($"error: no database at {full}: the report reads what the service has stored (start it with run, or pass --database); none was created");
                return RoadmapCli.RuntimeFailure;
            }

            storageOptions.Path = full;
        }

        IRoadmapStorage storage;
        try
        {
            storage = StorageBackends.Open(storageOptions, time);
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
        WhatChanged? changes = null;
        RoadmapView view;
        try
        {
            snapshot = evaluation.EvaluateAll(storeHistory: false);
            view = RoadmapViewBuilder.Build(config, snapshot);
            if (from is { } f)
            {
                // The KPIs' stored statuses then; the initiatives blocked then are known from an update sent by then.
                var updates = storage.Updates;
                changes = WhatChanged.Between(view, snapshot.At, f, updates.StatusesAt(f), updates.LastSuccessAtOrBefore(f)?.Blocked, config.Settings.TimeZone);
            }
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"error: cannot read the database {storage.Location}: {e.Message}");
            return RoadmapCli.RuntimeFailure;
        }

        await stdout.WriteAsync(changes is null ? parsed.Render(view) : UpdatePayloads.Render(UpdateFormatOf(parsed), changes, view) + (parsed == ReportFormat.Json ? "\n" : ""));
        return RoadmapCli.Ok;
    }

    // The update format that prints the same document as the report's format, with the section first.
    private static UpdateFormat UpdateFormatOf(ReportFormat format) => format switch
    {
        ReportFormat.Html => UpdateFormat.Html,
        ReportFormat.Json => UpdateFormat.Json,
        _ => UpdateFormat.Markdown,
    };

    private static bool TryParseSince(string text, TimeZoneInfo zone, out DateTimeOffset since)
    {
        if (Dates.TryParseDate(text, out var date))
        {
            since = Dates.StartOfDay(date, zone);
            return true;
        }

        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out since)
            && text.Contains('T', StringComparison.Ordinal);
    }
}
