using System.Diagnostics;
using System.Text;

namespace Roadmap.EndToEnd.Tests.Board;

/// <summary>
/// Debian's headless Chromium (<c>/usr/bin/chromium</c>, package <c>chromium</c>), run once per call with a fresh
/// profile, no background traffic, and every host name but loopback unresolvable: what it shows came from the
/// board alone, as it would on a machine without a network.
/// </summary>
internal static class Chromium
{
    public const string DebianPath = "/usr/bin/chromium";

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>The executable; a test that needs it fails (never skips) with how to install it.</summary>
    public static string Executable()
    {
        if (File.Exists(DebianPath))
        {
            return DebianPath;
        }

        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "chromium"))
            .FirstOrDefault(File.Exists);
        Assert.True(onPath is not null, $"chromium is not installed ({DebianPath} not found, nor chromium on PATH): the board's browser test needs it. Install it with: apt-get install -y chromium");
        return onPath!;
    }

    /// <summary>Loads <paramref name="url"/> and writes a PNG of the window.</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> ScreenshotAsync(string url, string png, string profile, int width = 1400, int height = 1000) =>
        RunAsync(profile, $"--screenshot={png}", $"--window-size={width},{height}", url);

    /// <summary>Loads <paramref name="url"/> and returns the DOM as Chromium serializes it after the load.</summary>
    public static Task<(int Exit, string Stdout, string Stderr)> DumpDomAsync(string url, string profile) =>
        RunAsync(profile, "--dump-dom", url);

    /// <summary>The flags of every run: headless, a fresh profile, no background traffic, no name but loopback resolved.</summary>
    public static string[] Common(string profile) =>
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        $"--user-data-dir={profile}",
    ];

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string profile, params string[] args)
    {
        var info = new ProcessStartInfo(Executable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in Common(profile).Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            process.WaitForExit(); // flushes the redirected streams
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"chromium did not finish within {Timeout.TotalSeconds} s; stderr:\n{Text(stderr)}");
        }

        return (process.ExitCode, Text(stdout), Text(stderr));
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.Append(line).Append('\n');
        }
    }

    private static string Text(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }
}
