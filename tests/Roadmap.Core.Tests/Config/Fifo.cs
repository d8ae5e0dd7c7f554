using System.Diagnostics;

namespace Roadmap.Core.Tests.Config;

/// <summary>Named pipes for tests: opening one for reading blocks until a writer comes, the hang the loader must not fall into.</summary>
public static class Fifo
{
    /// <summary>Creates a FIFO at <paramref name="path"/> with mkfifo(1).</summary>
    public static void Create(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })!;
        mkfifo.WaitForExit();
        Assert.True(mkfifo.ExitCode == 0, $"mkfifo {path}: {mkfifo.StandardError.ReadToEnd()}");
    }
}
