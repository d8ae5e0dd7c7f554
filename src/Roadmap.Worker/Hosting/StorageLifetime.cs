using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Roadmap.Storage;
using Roadmap.Worker.Exporting;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Starts the writer before the scheduler and, registered first, stops after it: every poll that finished is
/// committed before the process exits.
/// </summary>
public sealed partial class StorageLifetime(IPollWriter writer, RoadmapMetrics metrics, ILogger<StorageLifetime> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        writer.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await writer.DisposeAsync();
        LogStopped(log, metrics.PollCount, writer.PollsWritten, writer.PollsDropped, writer.SamplesWritten);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage closed: {Counted} polls counted, {Written} polls written, {Dropped} dropped, {Samples} samples written")]
    private static partial void LogStopped(ILogger log, long counted, long written, long dropped, long samples);
}
