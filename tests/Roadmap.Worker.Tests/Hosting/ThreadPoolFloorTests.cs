using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

/// <summary>
/// The thread pool's floor: raised to the processors plus the spare threads, never lowered. The pool is the test
/// process's own, shared by the tests running beside these; a higher floor harms none of them.
/// </summary>
public sealed class ThreadPoolFloorTests
{
    [Fact]
    public void For_IsTheProcessorsPlusFour()
    {
        Assert.Equal(6, ThreadPoolFloor.For(2));
        Assert.Equal(20, ThreadPoolFloor.For(16));
    }

    [Fact]
    public void Apply_RaisesTheFloorOfWorkerThreadsAndKeepsTheCompletionThreads()
    {
        ThreadPool.GetMinThreads(out _, out var completionsBefore);

        var floor = ThreadPoolFloor.Apply();

        ThreadPool.GetMinThreads(out var workers, out var completions);
        Assert.True(floor >= Environment.ProcessorCount + 4, $"floor {floor} on {Environment.ProcessorCount} processors");
        Assert.Equal(floor, workers);
        Assert.Equal(completionsBefore, completions);
    }

    [Fact]
    public void Apply_KeepsAHigherFloorTheOperatorSet()
    {
        var higher = ThreadPoolFloor.For(Environment.ProcessorCount) + 10;
        ThreadPool.GetMinThreads(out _, out var completions);
        Assert.True(ThreadPool.SetMinThreads(higher, completions));

        Assert.Equal(higher, ThreadPoolFloor.Apply());
        ThreadPool.GetMinThreads(out var workers, out _);
        Assert.Equal(higher, workers);
    }
}
