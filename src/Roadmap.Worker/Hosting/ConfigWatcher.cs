using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// Says when to reload the config: on SIGHUP at once, and when the file changes once it has been quiet for
/// <see cref="Debounce"/> (an editor's save is several events — truncate, write, rename into place — and a half
/// written file must not be judged). Quiet means both no change event and the file itself unchanged (size,
/// modification time and a SHA-256 of its content) across the last <see cref="Debounce"/>: a writer whose events
/// are lost or late still holds the reload back. A writer that pauses longer than that mid-file cannot be told
/// from a finished one, so configs should be written elsewhere and renamed into place (README).
/// Reloads run one at a time on one loop; requests during a reload coalesce.
/// </summary>
public sealed partial class ConfigWatcher : IAsyncDisposable
{
    /// <summary>How long the file must be quiet after a change before it is reloaded. 500 ms.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(500);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Func<string, CancellationToken, Task> _reload;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private FileSystemWatcher? _files;
    private PosixSignalRegistration? _signal;
    private Task _loop = Task.CompletedTask;
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

    /// <summary>Starts the loop and, as asked, the file watch and the SIGHUP handler.</summary>
    public void Start(bool watchFile = true, bool handleSighup = true)
    {
        if (watchFile)
        {
            WatchFile();
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
        _files?.Dispose();
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    private void WatchFile()
    {
        var directory = Path.GetDirectoryName(_path);
        if (directory is null || !Directory.Exists(directory))
        {
            LogNotWatched(_log, _path);
            return;
        }

        _files = new FileSystemWatcher(directory, Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        _files.Changed += (_, _) => NotifyFileChanged();
        _files.Created += (_, _) => NotifyFileChanged();
        // Editors save by writing a temporary file and renaming it over the config: the rename is the change.
        _files.Renamed += (_, e) =>
        {
            if (string.Equals(e.FullPath, _path, StringComparison.Ordinal))
            {
                NotifyFileChanged();
            }
        };
        _files.Error += (_, e) =>
        {
            // Events were lost (buffer overflow): the file may have changed.
            LogWatchError(_log, _path, e.GetException().Message);
            NotifyFileChanged();
        };
        _files.EnableRaisingEvents = true;
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

            // A signal's reload reads the file as it is now, which includes any pending change.
            Interlocked.Exchange(ref _fileChanged, 0);
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
    /// Waits until no change event came for <see cref="Debounce"/> and the file did not change while waiting, or a
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
                // A signal reloads now; a new event restarts the wait from it.
                continue;
            }

            if (Fingerprint.Of(_path) == seen)
            {
                return;
            }

            // Changed without an event (yet): someone is still writing. Wait a whole period from now.
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "The config file {Path} is not watched (its folder does not exist); reload it with SIGHUP")]
    private static partial void LogNotWatched(ILogger log, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching the config file {Path} lost events ({Reason}); reloading it to be sure")]
    private static partial void LogWatchError(ILogger log, string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The config file {Path} changed while waiting for it to be quiet; waiting {Debounce} ms more")]
    private static partial void LogStillChanging(ILogger log, string path, double debounce);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The config file {Path} is gone; the running config is kept until it is back")]
    private static partial void LogMissing(ILogger log, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Config reload crashed; the running config is kept")]
    private static partial void LogReloadCrashed(ILogger log, Exception exception);
}
