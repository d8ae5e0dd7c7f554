using System.Diagnostics;
using System.Text;

namespace Roadmap.EndToEnd.Tests;

/// <summary>The real Roadmap.Worker executable, started with `dotnet Roadmap.Worker.dll`, its output captured.</summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private WorkerProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Id => _process.Id;

    public static WorkerProcess Start(string workingDirectory, params string[] args) => Start(workingDirectory, new Dictionary<string, string?>(), args);

    /// <param name="environment">Variables to set (a null value removes one) for the process.</param>
    public static WorkerProcess Start(string workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        StartWithLauncher(workingDirectory, [], environment, args);

    /// <summary>
    /// Starts the executable through a launcher command (e.g. <c>setpriv --bounding-set -dac_override --</c>), which
    /// runs <c>dotnet Roadmap.Worker.dll ARGS</c> as its last arguments; no launcher is a plain start.
    /// </summary>
    public static WorkerProcess StartWithLauncher(string workingDirectory, IReadOnlyList<string> launcher, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Roadmap.Worker.dll");
        return launcher.Count == 0
            ? StartCommand("dotnet", [dll, .. args], workingDirectory, environment)
            : StartCommand(launcher[0], [.. launcher.Skip(1), "dotnet", dll, .. args], workingDirectory, environment);
    }

    /// <summary>Starts a native build of the worker (<c>dotnet publish</c> output) with <paramref name="args"/>.</summary>
    public static WorkerProcess StartNative(string executable, string workingDirectory, params string[] args) =>
        StartCommand(executable, args, workingDirectory, new Dictionary<string, string?>());

    /// <summary>Starts any command with its output captured: the worker's builds, or the <c>dotnet publish</c> that makes one.</summary>
    public static WorkerProcess StartCommand(string command, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo(command)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove("ASPNETCORE_URLS");
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        return new WorkerProcess(Process.Start(info)!);
    }

    /// <summary>Runs to completion (a verb that exits by itself) within the timeout.</summary>
    public static Task<WorkerProcess> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args) =>
        RunAsync(workingDirectory, timeout, new Dictionary<string, string?>(), args);

    public static async Task<WorkerProcess> RunAsync(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var p = Start(workingDirectory, environment, args);
        using var cts = new CancellationTokenSource(timeout);
        await p._process.WaitForExitAsync(cts.Token);
        p._process.WaitForExit(); // flushes the redirected streams
        return p;
    }

    /// <summary>Sends SIGTERM, as systemd and Kubernetes do to stop a service.</summary>
    public void Terminate() => Signal("TERM");

    /// <summary>Sends SIGHUP, as `systemctl reload` or `kill -HUP` do to ask for a config reload.</summary>
    public void Hangup() => Signal("HUP");

    /// <summary>Sends the signal of this name (TERM, HUP, STOP, CONT) with kill(1); returns once it is sent.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Sends SIGKILL, as the OOM killer or a crash would: no shutdown code runs. Returns once it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit();
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.AppendLine(line);
        }
    }
}
