using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Says when to reload the config: on SIGHUP at once, and when the file changes once it has been quiet for
/// <see cref="Debounce"/> (an editor's save is several steps — truncate, write, rename into place — and a half
/// written file must not be judged). The file is looked at every <see cref="PollEvery"/> with one stat
/// (<see cref="FileStamp"/>: the path's final target, size and modification time), not watched through its folder:
/// a folder watch wakes for every write to any file beside the config, and the database often lies there (its
/// journal is written many times a second), while a stat a second costs nothing and also sees a symbolic link
/// swapped elsewhere (a Kubernetes ConfigMap). Quiet means both no new change seen and the file itself unchanged
/// (size, modification time and a SHA-256 of its content) across the last <see cref="Debounce"/>. A writer that
/// pauses longer than that mid-file cannot be told from a finished one, so configs should be written elsewhere and
/// renamed into place (README). Reloads run one at a time on one loop; requests during a reload coalesce.
/// </summary>
public sealed partial class ConfigWatcher : IAsyncDisposable
{
    /// <summary>How long the file must be quiet after a change before it is reloaded. 500 ms.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the file is looked at for a change. 1 s.</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Func<string, CancellationToken, Task> _reload;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private PosixSignalRegistration? _signal;
    private Task _loop = Task.CompletedTask;
    private Task _poll = Task.CompletedTask;
    private readonly Lock _stampLock = new();
    private FileStamp _seen;
    private long _lastChange;
    private int _fileChanged;
    private int _signalled;

    /// <param name="path">The config file.</param>
    /// <param name="reload">Called with the reason ("SIGHUP" or "file change"); never twice at once.</param>
    /// <param name="debounce">Default <see cref="DefaultDebounce"/>.</param>
    public ConfigWatcher(string path, TimeProvider time, Func<string, CancellationToken, Task> reload, ILogger log, TimeSpan? debounce = null)
    {
        _path = Path.GetFullPath(path);
        _time = time;
        _reload = reload;
        _log = log;
        Debounce = debounce ?? DefaultDebounce;
    }

    public TimeSpan Debounce { get; }

    /// <summary>Starts the loop and, as asked, the look at the file every <see cref="PollEvery"/> and the SIGHUP
    /// handler.</summary>
    public void Start(bool watchFile = true, bool handleSighup = true)
    {
        if (watchFile)
        {
            _seen = FileStamp.Of(_path);
            _poll = Task.Run(() => PollAsync(_stop.Token));
        }

        if (handleSighup && !OperatingSystem.IsWindows())
        {
            // Started under nohup (SIGHUP ignored), the handler below would never run.
            SignalDisposition.TakeBackSighup();
            _signal = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                // Handled: SIGHUP's default action would end the process.
                context.Cancel = true;
                NotifySignal();
            });
        }

        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>The file changed: reload once it has been quiet for <see cref="Debounce"/>.</summary>
    public void NotifyFileChanged()
    {
        Interlocked.Exchange(ref _lastChange, _time.GetTimestamp());
        Interlocked.Exchange(ref _fileChanged, 1);
        _wake.Release();
    }

    /// <summary>A reload was asked for (SIGHUP): reload now.</summary>
    public void NotifySignal()
    {
        Interlocked.Exchange(ref _signalled, 1);
        _wake.Release();
    }

    public async ValueTask DisposeAsync()
    {
        _signal?.Dispose();
        await _stop.CancelAsync();
        foreach (var task in (Task[])[_loop, _poll])
        {
            try
            {
                await task;
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    /// <summary>One stat of the file every <see cref="PollEvery"/>; a stamp other than the last seen is a change.</summary>
    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(PollEvery, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (!Seen(FileStamp.Of(_path)))
            {
                NotifyFileChanged();
            }
        }
    }

    /// <summary>Records the file's stamp as seen; whether it was the one seen before.</summary>
    private bool Seen(FileStamp now)
    {
        lock (_stampLock)
        {
            var same = now.Equals(_seen);
            _seen = now;
            return same;
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await _wake.WaitAsync(cancellationToken);
            while (_wake.CurrentCount > 0)
            {
                await _wake.WaitAsync(cancellationToken);
            }

            var signalled = Interlocked.Exchange(ref _signalled, 0) == 1;
            if (!signalled)
            {
                if (Volatile.Read(ref _fileChanged) == 0)
                {
                    continue;
                }

                await QuietAsync(cancellationToken);
                signalled = Interlocked.Exchange(ref _signalled, 0) == 1;
                if (!signalled && !File.Exists(_path))
                {
                    // Moved away mid-save; the write that brings it back is another change.
                    Interlocked.Exchange(ref _fileChanged, 0);
                    LogMissing(_log, _path);
                    continue;
                }
            }

            // A signal's reload reads the file as it is now, which includes any pending change. The stamp it has now
            // is seen, so the end of a save already waited for is not taken for a change of its own.
            Interlocked.Exchange(ref _fileChanged, 0);
            Seen(FileStamp.Of(_path));
            var reason = signalled ? "SIGHUP" : "file change";
            try
            {
                await _reload(reason, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The reload records its own failures; this is a bug, and the watch must go on.
                LogReloadCrashed(_log, e);
            }
        }
    }

    /// <summary>
    /// Waits until no change was seen for <see cref="Debounce"/> and the file did not change while waiting, or a
    /// signal asks for the reload now.
    /// </summary>
    private async Task QuietAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _signalled) == 0)
        {
            var last = Interlocked.Read(ref _lastChange);
            var seen = Fingerprint.Of(_path);
            var quiet = _time.GetElapsedTime(last);
            if (quiet < Debounce)
            {
                await Task.Delay(Debounce - quiet, _time, cancellationToken);
            }

            if (Volatile.Read(ref _signalled) != 0 || Interlocked.Read(ref _lastChange) != last)
            {
                // A signal reloads now; a new change seen restarts the wait from it.
                continue;
            }

            if (Fingerprint.Of(_path) == seen)
            {
                return;
            }

            // Changed since the wait began: someone is still writing. Wait a whole period from now.
            LogStillChanging(_log, _path, Debounce.TotalMilliseconds);
            Interlocked.Exchange(ref _lastChange, _time.GetTimestamp());
        }
    }

    /// <summary>What says the file changed: its size, modification time and content (read as the loader reads it, never blocking).</summary>
    private readonly record struct Fingerprint(long Length, DateTime Modified, string Content)
    {
        public static Fingerprint Of(string path)
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return default;
            }

            var read = RegularFile.Read(path, ConfigLoader.MaxFileBytes);
            var content = read.Bytes is { } bytes ? Convert.ToHexString(SHA256.HashData(bytes)) : read.TooLarge ? "too large" : read.Problem ?? "";
            return new Fingerprint(info.Length, info.LastWriteTimeUtc, content);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The config file {Path} changed while waiting for it to be quiet; waiting {Debounce} ms more")]
    private static partial void LogStillChanging(ILogger log, string path, double debounce);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The config file {Path} is gone; the running config is kept until it is back")]
    private static partial void LogMissing(ILogger log, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Config reload crashed; the running config is kept")]
    private static partial void LogReloadCrashed(ILogger log, Exception exception);
}
