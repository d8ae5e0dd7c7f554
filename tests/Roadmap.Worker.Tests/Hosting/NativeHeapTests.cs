using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

public sealed partial class NativeHeapTests
{
    private const int Page = 4096;
    private const int BlockBytes = 64 * 1024; // below malloc's mmap threshold: served from an arena

    [Fact]
    public void TryTrim_AfterFreeingBlocksInsideAnArena_GivesTheirPagesBackToTheOs()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // 256 touched blocks; the last stays allocated, so the freed ones are not at the arena's top, where free()
        // would hand them back by itself.
        var blocks = Enumerable.Range(0, 257).Select(_ => Marshal.AllocHGlobal(BlockBytes)).ToArray();
        var ones = Enumerable.Repeat((byte)1, BlockBytes).ToArray();
        foreach (var b in blocks)
        {
            Marshal.Copy(ones, 0, b, BlockBytes);
        }

        foreach (var b in blocks[..^1])
        {
            Marshal.FreeHGlobal(b);
        }

        try
        {
            var before = ResidentShare(blocks[..^1]);
            Assert.True(NativeHeap.TryTrim());
            var after = ResidentShare(blocks[..^1]);

            Assert.True(before > 0.9, $"freed but untrimmed pages should still be resident: {before:P0}");
            Assert.True(after < 0.1, $"trimmed pages should be given back: {after:P0} still resident");
        }
        finally
        {
            Marshal.FreeHGlobal(blocks[^1]);
        }
    }

    [Fact]
    public void TryLimitArenas_OnGlibc_IsAccepted()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // The process default for two cores, so the other tests run as they would anyway.
        Assert.True(NativeHeap.TryLimitArenas(2 * 8));
    }

    [Fact]
    public async Task Trimmer_TrimsOncePerIntervalOnTheInjectedClock()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var trimmer = new NativeHeapTrimmer(time);
        await trimmer.StartAsync(CancellationToken.None);

        time.Advance(NativeHeapTrimmer.Interval - TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.Equal(0, trimmer.Trims);
        for (var i = 1; i <= 3; i++)
        {
            time.Advance(i == 1 ? TimeSpan.FromSeconds(1) : NativeHeapTrimmer.Interval);
            await WaitFor(() => trimmer.Trims == i);
        }

        await trimmer.StopAsync(CancellationToken.None);
        Assert.Equal(3, trimmer.Trims);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    /// <summary>The share of the blocks' inner pages (a chunk header may sit on the first) that are resident (mincore).</summary>
    private static double ResidentShare(IEnumerable<nint> blocks)
    {
        int resident = 0, total = 0;
        foreach (var b in blocks)
        {
            var start = (b + Page) & ~(nint)(Page - 1);
            var end = (b + BlockBytes - Page) & ~(nint)(Page - 1);
            var pages = (int)((end - start) / Page);
            var vec = new byte[pages];
            Assert.Equal(0, MinCore(start, (nuint)(end - start), vec));
            resident += vec.Count(v => (v & 1) != 0);
            total += pages;
        }

        return (double)resident / total;
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static partial int MinCore(nint address, nuint length, [Out] byte[] residency);
}
