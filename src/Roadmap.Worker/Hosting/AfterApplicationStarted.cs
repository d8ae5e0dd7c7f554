using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Resolves and starts a hosted service only once the application has started. Storage is open by then
/// (<see cref="StorageLifetime"/> opens it after the listen address is bound), and a service that needs storage in its
/// constructor, resolved with the other hosted services, would open the database before the bind: a start that cannot
/// listen would then leave a database file behind.
/// </summary>
/// <typeparam name="T">The service, registered as a singleton of its own type.</typeparam>
internal sealed class AfterApplicationStarted<T>(IServiceProvider services, IHostApplicationLifetime lifetime) : IHostedService
    where T : class, IHostedService
{
    private T? _service;
    private CancellationTokenRegistration _started;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _started = lifetime.ApplicationStarted.Register(() =>
        {
            var service = services.GetRequiredService<T>();
            Volatile.Write(ref _service, service);
            // A background service returns at its first await; its loop goes on by itself.
            _ = service.StartAsync(lifetime.ApplicationStopping);
        });
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _started.DisposeAsync();
        if (Volatile.Read(ref _service) is { } service)
        {
            await service.StopAsync(cancellationToken);
        }
    }
}
