using System.Globalization;
using System.Runtime.InteropServices;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Storage.Copy;

namespace Roadmap.Worker.Cli;

/// <summary>
/// The copy-storage verb: copies a SQLite file's history (hot samples, sealed chunks and rollups as stored, polls,
/// evaluations, baselines, update deliveries) into another store, with a progress line on stderr about every <see cref="ProgressEvery"/>;
/// Ctrl-C or SIGTERM stops it between batches, and running the same command again resumes (so does a run after a
/// kill: every batch is one transaction of the destination). It ends by comparing every table's row count and every
/// series' (and source's, KPI's, update's) checksum on both sides: exit 0 only when all match.
/// </summary>
/// <remarks>
/// Exit codes: 0 copied and verified; 1 a missing, foreign or same source, a conflict in the destination (data that
/// is not the source's: nothing is written), a damaged chunk in the source (named by series and range), a difference
/// after the copy, a storage failure, or an interruption;
/// 2 usage (a missing option, no connection string for a PostgreSQL destination).
/// </remarks>
public static class CopyStorageCommand
{
    /// <summary>The keyword of <c>--to</c> that names a PostgreSQL destination (any other value is a SQLite file).</summary>
    public const string Postgres = "postgres";

    /// <summary>
    /// Where a PostgreSQL destination's connection string is read from when <c>--to-connection-string-file</c> is not
    /// given; never from the command line, where other users see it.
    /// </summary>
    public const string ConnectionStringVariable = "ROADMAP_STORAGE_CONNECTION_STRING";

    /// <summary>The most conflicts or differences listed one by one; the rest are counted. 20.</summary>
    public const int MaxListed = 20;

    /// <summary>How often a progress line is written at most: 1 s.</summary>
    public static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(1);

    /// <summary>The largest connection-string file read: 64 KiB (it holds one line).</summary>
    private const int MaxConnectionFileBytes = 64 * 1024;

    /// <summary>Runs the verb until done, or until Ctrl-C or SIGTERM (the copy stops between batches).</summary>
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options, TextWriter stdout, TextWriter stderr)
    {
        using var stop = new CancellationTokenSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        return await RunAsync(options, stdout, stderr, stop.Token);

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <param name="options">from (a SQLite file), to (a SQLite file, or <see cref="Postgres"/>),
    /// to-connection-string-file, quiet.</param>
    /// <param name="stdout">The summary.</param>
    /// <param name="stderr">Progress lines and errors.</param>
    /// <param name="cancellationToken">Stops the copy between batches (exit 1; run again to resume).</param>
    /// <param name="time">The clock of the progress lines; default the system's.</param>
    /// <param name="batchRows">Rows per batch (one destination transaction); default <see cref="StorageCopier.DefaultBatchRows"/>.</param>
    /// <param name="environment">Reads an environment variable; default the process's.</param>
    public static async Task<int> RunAsync(
        IReadOnlyDictionary<string, string> options,
        TextWriter stdout,
        TextWriter stderr,
        CancellationToken cancellationToken,
        TimeProvider? time = null,
        int batchRows = StorageCopier.DefaultBatchRows,
        Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        time ??= TimeProvider.System;
        if (!options.TryGetValue("from", out var from) || !options.TryGetValue("to", out var to))
        {
            await stderr.WriteLineAsync("error: copy-storage needs --from (the SQLite file to copy) and --to (a SQLite file, or postgres)");
            return RoadmapCli.BadConfigOrUsage;
        }

        var destination = new StorageOptions { Path = to };
        if (to == Postgres)
        {
            var connection = await ConnectionStringAsync(options, environment ?? Environment.GetEnvironmentVariable, stderr);
            if (connection is null)
            {
                return RoadmapCli.BadConfigOrUsage;
            }

            destination = new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = connection };
        }
        else if (options.ContainsKey("to-connection-string-file"))
        {
            await stderr.WriteLineAsync("error: --to-connection-string-file is for --to postgres; --to names a SQLite file here");
            return RoadmapCli.BadConfigOrUsage;
        }

        IHistoryExport? source = null;
        IHistoryImport? target = null;
        try
        {
            // The source first: a missing or foreign one is reported before a destination file is created.
            source = HistoryStores.OpenSqliteExport(from);
            target = HistoryStores.OpenImport(destination, source);
            var progress = new ProgressLine(stderr, time, options.ContainsKey("quiet"));
            var started = time.GetTimestamp();
            var copier = new StorageCopier(source, target, batchRows);
            var outcome = await Task.Run(() => copier.Run(progress.Tell, cancellationToken), CancellationToken.None);
            var ended = time.GetTimestamp();
            var copying = progress.CopyingSince is { } c ? time.GetElapsedTime(c, progress.VerifyingSince ?? ended) : TimeSpan.Zero;
            await Report(outcome, source, target, (copying, time.GetElapsedTime(started, ended)), stdout, stderr);
            return outcome.Verified ? RoadmapCli.Ok : RoadmapCli.RuntimeFailure;
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return RoadmapCli.RuntimeFailure;
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync($"interrupted: what was copied is kept in {target?.Location}; run the same command again to resume");
            return RoadmapCli.RuntimeFailure;
        }
        finally
        {
            target?.Dispose();
            source?.Dispose();
        }
    }

    private static async Task<string?> ConnectionStringAsync(IReadOnlyDictionary<string, string> options, Func<string, string?> environment, TextWriter stderr)
    {
        if (options.TryGetValue("to-connection-string-file", out var file))
        {
            // As every *File secret is read: a regular file only (a FIFO is never waited on), and a small one.
            var read = RegularFile.Read(file, MaxConnectionFileBytes);
            if (read.Bytes is null)
            {
                await stderr.WriteLineAsync($"error: cannot read --to-connection-string-file {file}: {read.Problem ?? $"it is larger than {MaxConnectionFileBytes / 1024} KiB"}");
                return null;
            }

            var text = System.Text.Encoding.UTF8.GetString(read.Bytes).Trim();
            if (text.Length > 0)
            {
                return text;
            }

            await stderr.WriteLineAsync($"error: --to-connection-string-file {file} is empty");
            return null;
        }

        if (environment(ConnectionStringVariable) is { Length: > 0 } value)
        {
            return value;
        }

        await stderr.WriteLineAsync($"error: --to postgres needs its connection string in --to-connection-string-file PATH or in ${ConnectionStringVariable} (never on the command line)");
        return null;
    }

    private static async Task Report(CopyOutcome outcome, IHistoryExport source, IHistoryImport target, (TimeSpan Copying, TimeSpan Total) elapsed, TextWriter stdout, TextWriter stderr)
    {
        if (outcome.Conflicts.Count > 0)
        {
            await stderr.WriteLineAsync($"error: {target.Location} already holds data that is not the start of {source.Location}'s; nothing was copied:");
            foreach (var c in outcome.Conflicts.Take(MaxListed))
            {
                await stderr.WriteLineAsync($"  {c.Stream}: the destination holds {N(c.Destination.Rows)} rows (checksum {c.Destination.Hex}), the source's first {N(c.Destination.Rows)} have checksum {c.Source.Hex} ({N(c.Source.Rows)} rows)");
            }

            await More(outcome.Conflicts.Count, stderr);
            await stderr.WriteLineAsync("copy into a new file (or an empty database), or remove the conflicting data first");
            return;
        }

        await stdout.WriteLineAsync($"{"TABLE",-18} {"SOURCE",14} {"DESTINATION",14} {"COPIED NOW",14}");
        foreach (var t in outcome.Tables)
        {
            var mark = t.SourceRows == t.DestinationRows ? "" : "  DIFFERS";
            await stdout.WriteLineAsync($"{HistoryStreamId.TableName(t.Table),-18} {N(t.SourceRows),14} {N(t.DestinationRows),14} {N(t.Copied),14}{mark}");
        }

        var copied = outcome.Tables.Sum(t => t.Copied);
        var seconds = Math.Max(elapsed.Copying.TotalSeconds, 0.001);
        await stdout.WriteLineAsync(
            $"copied {N(copied)} rows from {source.Location} to {target.Location} in {S(elapsed.Copying)} ({N((long)(copied / seconds))} rows/s); "
            + $"{S(elapsed.Total)} in all with the check and the verification");
        if (outcome.Verified)
        {
            await stdout.WriteLineAsync("verified: every table's row count and every stream's checksum match");
            return;
        }

        await stderr.WriteLineAsync($"error: the copy does not match its source: {outcome.Differences.Count} stream(s) differ");
        foreach (var d in outcome.Differences.Take(MaxListed))
        {
            await stderr.WriteLineAsync($"  {d.Stream}: source {N(d.Source.Rows)} rows (checksum {d.Source.Hex}), destination {N(d.Destination.Rows)} rows (checksum {d.Destination.Hex})");
        }

        await More(outcome.Differences.Count, stderr);
    }

    private static async Task More(int count, TextWriter stderr)
    {
        if (count > MaxListed)
        {
            await stderr.WriteLineAsync($"  ... and {count - MaxListed} more");
        }
    }

    private static string S(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>
    /// The progress line: at most one per <see cref="ProgressEvery"/>, with the phase's rate and what is left. It also
    /// notes when copying and verifying began, for the summary.
    /// </summary>
    private sealed class ProgressLine(TextWriter stderr, TimeProvider time, bool quiet)
    {
        private long _last = time.GetTimestamp();
        private (CopyPhase Phase, HistoryTable Table) _current;
        private long _phaseStart = time.GetTimestamp();
        private long _phaseStartDone;

        /// <summary>When the first copying and the first verifying report came (timestamps); null before.</summary>
        public long? CopyingSince { get; private set; }

        public long? VerifyingSince { get; private set; }

        public void Tell(CopyProgress p)
        {
            var now = time.GetTimestamp();
            if (p.Phase == CopyPhase.Copying)
            {
                CopyingSince ??= now;
            }
            else if (p.Phase == CopyPhase.Verifying)
            {
                VerifyingSince ??= now;
            }

            if (quiet)
            {
                return;
            }

            if ((p.Phase, p.Table) != _current)
            {
                _current = (p.Phase, p.Table);
                _phaseStart = now;
                _phaseStartDone = p.Done;
            }

            if (time.GetElapsedTime(_last, now) < ProgressEvery)
            {
                return;
            }

            _last = now;
            var seconds = time.GetElapsedTime(_phaseStart, now).TotalSeconds;
            var rate = seconds > 0 ? (p.Done - _phaseStartDone) / seconds : 0;
            var eta = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, p.Total - p.Done) / rate) : (TimeSpan?)null;
            var percent = p.Total > 0 ? (100.0 * p.Done / p.Total).ToString("0", CultureInfo.InvariantCulture) : "100";
            var verb = p.Phase switch
            {
                CopyPhase.Checking => "checking destination",
                CopyPhase.Copying => "copying",
                _ => "verifying",
            };
            stderr.WriteLine($"{verb} {HistoryStreamId.TableName(p.Table)}: {N(p.Done)}/{N(p.Total)} rows ({percent}%), {N((long)rate)} rows/s, ETA {(eta is { } e ? Eta(e) : "?")}");
        }

        private static string Eta(TimeSpan e) => e.TotalHours >= 1
            ? $"{(int)e.TotalHours}h{e.Minutes:00}m"
            : $"{e.Minutes}m{e.Seconds:00}s";
    }
}
