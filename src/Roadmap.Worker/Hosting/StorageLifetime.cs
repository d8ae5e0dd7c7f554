using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Storage;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Opens storage and starts the writer once every hosted service has started, the web server included, so a start
/// that cannot listen (address in use) opens and creates no database; the scheduler waits for the application to have
/// started, so no poll comes before. Registered first, it stops after the scheduler: every poll that finished is
/// committed before the process exits.
/// </summary>
public sealed partial class StorageLifetime(IServiceProvider services, RoadmapMetrics metrics, ILogger<StorageLifetime> log) : IHostedLifecycleService
{
    private IPollWriter? _writer;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        // Opens the database (a failure stops the start: the run verb prints it and exits 1).
        _writer = services.GetRequiredService<IPollWriter>();
        _writer.Start();
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_writer is not { } writer)
        {
            return;
        }

        await writer.DisposeAsync();
        LogStopped(log, metrics.PollCount, writer.PollsWritten, writer.PollsDropped, writer.SamplesWritten);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage closed: {Counted} polls counted, {Written} polls written, {Dropped} dropped, {Samples} samples written")]
    private static partial void LogStopped(ILogger log, long counted, long written, long dropped, long samples);
}
