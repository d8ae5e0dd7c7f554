using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Storage;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Reporting;

/// <summary>
/// Loads the board's trails (<see cref="KpiTrails.Load"/>) in the background once the service has started, and again
/// after each config reload, so the first board request finds them in memory instead of waiting for storage; a request
/// that comes before a load is done is answered without sparklines (<see cref="KpiTrails.ReadIfLoaded"/>). A load that
/// fails is logged; the next board request starts another.
/// </summary>
public sealed partial class KpiTrailsWarmUp(CurrentConfig current, KpiTrails trails, TimeProvider time, ILogger<KpiTrailsWarmUp> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        current.Changed += OnChanged;
        try
        {
            await WarmAsync(current.Value);
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            current.Changed -= OnChanged;
        }
    }

    private void OnChanged(object? sender, ConfigChangedEventArgs e) => _ = WarmAsync(e.Current);

    private async Task WarmAsync(Roadmap.Core.Config.RoadmapConfig config)
    {
        var started = time.GetTimestamp();
        try
        {
            await trails.Load(config, time.GetUtcNow());
            var elapsed = time.GetElapsedTime(started);
            LogWarm(log, elapsed.TotalMilliseconds);
        }
        catch (StorageException e)
        {
            LogFailed(log, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug of ours must not end the host: the board loads the trails on its next request.
            LogFailed(log, e.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Board trends loaded in {Milliseconds:F0} ms")]
    private static partial void LogWarm(ILogger log, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Board trends could not be loaded (the next board request tries again): {Reason}")]
    private static partial void LogFailed(ILogger log, string reason);
}
