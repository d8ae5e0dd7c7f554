using System.Runtime.InteropServices;

namespace Roadmap.Storage;

/// <summary>
/// The CPU time the calling thread has used, from Linux's per-thread clock (<c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>,
/// one system call). A step's CPU time beside its wall time tells a writer that works slowly from one that waits: for a
/// core (a machine with more runnable threads than cores), for the disk, or for a lock. Null where the clock cannot be
/// read (not Linux).
/// </summary>
internal static partial class ThreadCpu
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID on Linux

    private static bool _unsupported = !OperatingSystem.IsLinux();

    /// <summary>Whether the clock can be read here: false off Linux, or once a read found no libc entry for it.</summary>
    public static bool Supported => !_unsupported;

    /// <summary>The calling thread's CPU time so far, in <see cref="TimeSpan"/> ticks; null when it cannot be read.</summary>
    public static long? Ticks()
    {
        if (_unsupported)
        {
            return null;
        }

        try
        {
            return ClockGetTime(ClockThreadCpuTime, out var now) == 0
                ? (now.Seconds * TimeSpan.TicksPerSecond) + (now.Nanoseconds / TimeSpan.NanosecondsPerTick)
                : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unsupported = true;
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private record struct Timespec(long Seconds, long Nanoseconds);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);
}
