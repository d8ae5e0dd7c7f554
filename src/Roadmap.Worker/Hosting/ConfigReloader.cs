using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Sources.Network;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Events;
using Roadmap.Worker.Scheduling;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Reloads the config file on SIGHUP and when it changes (see <see cref="ConfigWatcher"/>). The new file is loaded
/// and validated as at start; an invalid one is logged error by error (FILE:LINE:COL, as <c>validate</c> prints
/// them) and the running config goes on. A valid one is applied without a restart: added sources are warmed up and
/// scheduled, removed ones unscheduled, disposed and their series dropped, changed ones rescheduled with their new
/// config; unchanged ones are not touched. Initiatives and KPIs apply from the next evaluation round, which is
/// scheduled a second after the reload. Settings that only apply at start keep their running values, with a warning.
/// </summary>
public sealed partial class ConfigReloader(
    CurrentConfig current,
    SourceKindRegistry kinds,
    SourcePool sources,
    ISchedulerFactory schedulers,
    IRoadmapEvents events,
    ConfigVariables variables,
    TimeProvider time,
    ILoggerFactory logs) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _log = logs.CreateLogger<ConfigReloader>();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConfigWatcher? _watcher;

    /// <summary>Whether <see cref="StartAsync"/> watches the file and handles SIGHUP. Default true; tests turn it off.</summary>
    public bool Watch { get; init; } = true;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        events.ConfigLoaded(time.GetUtcNow());
        if (Watch)
        {
            _watcher = new ConfigWatcher(current.Value.File, time, (reason, ct) => ReloadAsync(reason, ct), _log);
            _watcher.Start();
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_watcher is { } watcher)
        {
            _watcher = null;
            await watcher.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _gate.Dispose();
    }

    /// <summary>Loads the config file again and applies it when valid. True when the new config now runs.</summary>
    /// <param name="reason">For the log: what asked for the reload.</param>
    public async Task<bool> ReloadAsync(string reason, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        RoadmapConfig? loadedConfig = null;
        try
        {
            var running = current.Value;
            var loaded = new ConfigLoader(kinds.All, variables.Lookup).LoadFile(running.File);
            loadedConfig = loaded.Config;
            if (!loaded.IsValid)
            {
                foreach (var line in loaded.ErrorLines())
                {
                    LogConfigError(_log, line);
                }

                LogInvalid(_log, running.File, reason, loaded.ErrorCount);
                var failedAt = time.GetUtcNow();
                current.Reloaded(ConfigReload.Failed(running, failedAt, loaded.ErrorLines(), loaded.ErrorCount));
                events.ConfigReloaded(success: false, failedAt);
                return false;
            }

            foreach (var line in loaded.WarningLines())
            {
                LogConfigWarning(_log, line);
            }

            var diff = ConfigDiff.Between(running, loaded.Config!);
            foreach (var (key, was, next) in diff.NeedRestart)
            {
                LogNeedsRestart(_log, key, was, next, running.File);
            }

            await ApplyAsync(running, ConfigDiff.Effective(running, loaded.Config!), diff, cancellationToken);
            events.ConfigReloaded(success: true, time.GetUtcNow());
            var applied = current.Value;
            var added = Ids(diff.Added);
            var removed = Ids(diff.Removed);
            var changed = Ids(diff.Changed.Select(c => c.Next));
            var kpis = applied.Initiatives.Sum(i => i.Kpis.Count);
            LogReloaded(_log, running.File, reason, added, removed, changed, diff.Unchanged.Count, applied.Initiatives.Count, kpis);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A source that cannot be built, or the scheduler refusing a job: the running config stays what it was
            // where nothing was applied yet, so say so and count it.
            LogApplyFailed(_log, e, running: current.Value.File);
            var failedAt = time.GetUtcNow();
            var problem = $"{current.Value.File}: failed while applying it: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}";
            current.Reloaded(ConfigReload.Failed(current.Value, failedAt, [problem], 1, loadedConfig));
            events.ConfigReloaded(success: false, failedAt);
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ApplyAsync(RoadmapConfig running, RoadmapConfig next, ConfigDiff diff, CancellationToken cancellationToken)
    {
        // Network settings need a restart (ConfigDiff.Effective keeps the running ones), so new sources get the running policy.
        var context = new SourceContext(time, logs, new NetworkPolicy(running.Settings.Network));
        // Every new source is built before anything changes: if one cannot be, the running config is untouched.
        var created = new List<ISource>();
        try
        {
            foreach (var s in diff.Added.Concat(diff.Changed.Select(c => c.Next)))
            {
                created.Add(kinds.Get(s.Kind).Create(s, context));
            }
        }
        catch
        {
            foreach (var s in created)
            {
                await s.DisposeAsync();
            }

            throw;
        }

        var runningKinds = running.Sources.Select(s => s.Kind).ToHashSet(StringComparer.Ordinal);
        await ScheduleRegistrar.WarmUpAsync(kinds, created.Select(s => s.Config.Kind).Where(k => !runningKinds.Contains(k)), context, cancellationToken);

        // Recorded just before the swap, so nobody sees the new config beside the last failure's banner; a failure
        // to schedule below records itself over this.
        current.Reloaded(ConfigReload.Succeeded(running.File, time.GetUtcNow()));
        current.Set(next);
        events.ConfigApplied(next);
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var removed in diff.Removed)
        {
            await scheduler.DeleteJob(ScheduleRegistrar.PollKey(removed.Id), cancellationToken);
            await sources.Swap(removed.Id, null, Forget);
        }

        foreach (var source in created)
        {
            // A poll running on the replaced source finishes on it; the next one uses this.
            await sources.Swap(source.Config.Id, source, Forget);
            await ScheduleRegistrar.SchedulePollAsync(scheduler, source.Config, next.Settings.TimeZone, now, !next.Settings.Cluster.Enabled, cancellationToken);
        }

        // Judge the new initiatives and KPIs a second from now, then on the (possibly new) interval.
        await ScheduleRegistrar.ScheduleEvaluationAsync(scheduler, next.Settings.EvaluateEvery, now, !next.Settings.Cluster.Enabled, cancellationToken);
    }

    /// <summary>A replaced or removed source is disposed: drop what its series say that the config no longer does.</summary>
    private void Forget(ISource retired) => events.SourceRetired(retired.Config.Id, sources.Find(retired.Config.Id)?.Config);

    private static string Ids(IEnumerable<SourceConfig> sources)
    {
        var ids = sources.Select(s => s.Id).ToList();
        return ids.Count == 0 ? "none" : string.Join(", ", ids);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Line}")]
    private static partial void LogConfigWarning(ILogger log, string line);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogConfigError(ILogger log, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Config reload ({Reason}) failed: {File} has {Count} error(s); the running config is kept")]
    private static partial void LogInvalid(ILogger log, string file, string reason, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "settings.{Key} changed from {Running} to {Next} in {File}: this setting needs a restart, the running value stays in force until then")]
    private static partial void LogNeedsRestart(ILogger log, string key, string running, string next, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config reloaded from {File} ({Reason}): sources added: {Added}; removed: {Removed}; changed: {Changed}; {Unchanged} unchanged; {Initiatives} initiatives, {Kpis} KPIs")]
    private static partial void LogReloaded(ILogger log, string file, string reason, string added, string removed, string changed, int unchanged, int initiatives, int kpis);

    [LoggerMessage(Level = LogLevel.Error, Message = "Config reload of {Running} failed while applying it")]
    private static partial void LogApplyFailed(ILogger log, Exception exception, string running);
}
