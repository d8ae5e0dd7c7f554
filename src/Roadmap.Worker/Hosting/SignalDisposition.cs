using System.Runtime.InteropServices;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Signals this process asks for even when it was started with them ignored. <c>nohup</c>, and many service managers
/// and shells for background jobs, start a process with SIGHUP ignored; an ignored signal stays ignored across exec,
/// and .NET does not deliver an ignored signal to a <see cref="PosixSignalRegistration"/>. So under <c>nohup</c>,
/// <c>kill -HUP</c> silently did not reload the config. Go's <c>signal.Notify</c> (Prometheus' reload) takes such a
/// signal back the same way.
/// </summary>
public static partial class SignalDisposition
{
    private const int Sighup = 1;

    /// <summary>
    /// Puts SIGHUP back to its default action if it is ignored, before a handler is registered for it. True when the
    /// disposition was read (and restored where needed); false where libc cannot be called (then nothing changes).
    /// </summary>
    public static bool TakeBackSighup()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            // signal() returns the previous handler: SIG_IGN is 1, SIG_DFL 0. Setting SIG_DFL and putting anything
            // other than SIG_IGN back leaves a handler someone else installed alone.
            var previous = Signal(Sighup, 0);
            if (previous != 1)
            {
                Signal(Sighup, previous);
            }

            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);
}
