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
    public void Apply_RaisesALowFloorOfWorkerThreadsAndKeepsTheCompletionThreads()
    {
        // The test host may run with a raised floor already: start from the lowest, and put the host's back after.
        ThreadPool.GetMinThreads(out var original, out var completionsBefore);
        Assert.True(ThreadPool.SetMinThreads(1, completionsBefore));
        try
        {
            var floor = ThreadPoolFloor.Apply();

            ThreadPool.GetMinThreads(out var workers, out var completions);
            Assert.Equal(Environment.ProcessorCount + 4, floor);
            Assert.Equal(floor, workers);
            Assert.Equal(completionsBefore, completions);
        }
        finally
        {
            ThreadPool.GetMinThreads(out var now, out var completions);
            ThreadPool.SetMinThreads(Math.Max(original, now), completions);
        }
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
