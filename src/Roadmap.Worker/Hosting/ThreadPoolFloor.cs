namespace Roadmap.Worker.Hosting;

/// <summary>
/// Raises the thread pool's floor of worker threads to the processors plus <see cref="Spare"/>. Some of Roadmap's work
/// holds a pool thread while it runs synchronously: an evaluation round (1,000 KPIs read from storage and judged), the
/// writer's database transactions, a scrape or an API read. On a two-core machine the default floor is two threads;
/// with both held, the polls' timers and socket completions wait until the pool's starvation check adds a thread,
/// about half a second, and polls start late in bursts at every evaluation round. Threads up to the floor are made at
/// once when work is queued; idle ones cost a stack each and retire.
/// </summary>
/// <remarks>
/// Measured at 2,000 sources every second with 1,000 KPIs evaluated every 15 s (2 cores, 120 s after a 60 s warm-up,
/// two runs each; docs/PERFORMANCE.md): with the default floor 674 and 853 of 240,000 polls of the native build started
/// more than 100 ms late; with this floor (6), none, and no more CPU. A floor set higher by the operator (<c>DOTNET_ThreadPool_ForceMinWorkerThreads</c>, or
/// <c>System.Threading.ThreadPool.MinThreads</c> in the runtime config) is kept.
/// </remarks>
public static class ThreadPoolFloor
{
    /// <summary>Worker threads above the processor count: the evaluator, the writer, a reader, and one to spare.</summary>
    public const int Spare = 4;

    /// <summary>The floor <see cref="Apply"/> sets on a machine with <paramref name="processors"/> processors.</summary>
    public static int For(int processors) => processors + Spare;

    /// <summary>Raises the floor of worker threads to <see cref="For"/> this machine when it is lower; returns the floor now.</summary>
    public static int Apply()
    {
        ThreadPool.GetMinThreads(out var workers, out var completions);
        var floor = For(Environment.ProcessorCount);
        if (workers < floor && ThreadPool.SetMinThreads(floor, completions))
        {
            return floor;
        }

        return workers;
    }
}
