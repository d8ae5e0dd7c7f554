using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

public sealed class ConfigWatcherTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly List<string> _reloads = [];

    public ConfigWatcherTests()
    {
        File.WriteAllText(ConfigFile, "roadmap: { name: R }\n");
    }

    private string ConfigFile => _dir.File("roadmap.yaml");

    private int Reloads
    {
        get
        {
            lock (_reloads)
            {
                return _reloads.Count;
            }
        }
    }

    public void Dispose() => _dir.Dispose();

    private ConfigWatcher Watcher(TimeProvider time, string? file = null) => new(file ?? ConfigFile, time, (reason, _) =>
    {
        lock (_reloads)
        {
            _reloads.Add(reason);
        }

        return Task.CompletedTask;
    }, NullLogger.Instance);

    /// <summary>The watcher's loop runs on its own thread: give it real time to act (or to wrongly act).</summary>
    /// <param name="nudge">Called between looks: a loop that read the fake clock just before the test advanced it
    /// registers its wait after the advance, due a little later on the fake clock than the test meant.</param>
    private static async Task<bool> Eventually(Func<bool> condition, Action? nudge = null)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
            nudge?.Invoke();
        }

        return condition();
    }

    [Fact]
    public async Task NotifyFileChanged_BurstOfChanges_ReloadsOnceAfterTheFileIsQuietForTheDebounce()
    {
        var time = new FakeTimeProvider();
        await using var watcher = Watcher(time);
        watcher.Start(watchFile: false, handleSighup: false);

        // An editor's save: several events over 600 ms.
        watcher.NotifyFileChanged();
        time.Advance(TimeSpan.FromMilliseconds(300));
        watcher.NotifyFileChanged();
        time.Advance(TimeSpan.FromMilliseconds(300));
        watcher.NotifyFileChanged();
        time.Advance(TimeSpan.FromMilliseconds(499));
        await Task.Delay(200);
        Assert.Equal(0, Reloads);

        time.Advance(TimeSpan.FromMilliseconds(1));

        // Up to 50 ms more of fake time, a millisecond at a time (see Eventually): a reload at 500 ms after the last
        // change, not at 499 (above).
        var nudges = 0;
        Assert.True(await Eventually(() => Reloads == 1, () => { if (nudges++ < 50) { time.Advance(TimeSpan.FromMilliseconds(1)); } }), "no reload 500 ms after the last change");
        await Task.Delay(200);
        time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(200);
        Assert.Equal(["file change"], _reloads);
    }

    /// <summary>
    /// A writer still at work whose change events are late or lost: the file changes during the debounce with no
    /// event. Once a half-written config was applied this way (it removed every initiative); the reload must wait
    /// until the file itself has been unchanged for a whole debounce.
    /// </summary>
    [Fact]
    public async Task NotifyFileChanged_FileChangesWithoutAnEventDuringTheDebounce_WaitsUntilItIsUnchangedForAWholeDebounce()
    {
        var time = new FakeTimeProvider();
        await using var watcher = Watcher(time);
        watcher.Start(watchFile: false, handleSighup: false);
        File.WriteAllText(ConfigFile, "roadmap: { name: R }\n");

        watcher.NotifyFileChanged();
        await Task.Delay(300); // the loop takes the file's fingerprint and waits on the fake clock
        File.AppendAllText(ConfigFile, "sources: []\n");
        File.SetLastWriteTimeUtc(ConfigFile, DateTime.UtcNow.AddSeconds(1));
        time.Advance(TimeSpan.FromMilliseconds(500));
        await Task.Delay(300);

        Assert.Equal(0, Reloads);

        time.Advance(TimeSpan.FromMilliseconds(500));

        var nudges = 0;
        Assert.True(await Eventually(() => Reloads == 1, () => { if (nudges++ < 50) { time.Advance(TimeSpan.FromMilliseconds(1)); } }), "no reload once the file was unchanged for the debounce");
        Assert.Equal(["file change"], _reloads);
    }

    [Fact]
    public async Task NotifySignal_NoChange_ReloadsAtOnceWithoutWaitingForTheClock()
    {
        var time = new FakeTimeProvider();
        await using var watcher = Watcher(time);
        watcher.Start(watchFile: false, handleSighup: false);

        watcher.NotifySignal();

        Assert.True(await Eventually(() => Reloads == 1));
        Assert.Equal(["SIGHUP"], _reloads);
    }

    [Fact]
    public async Task NotifyFileChanged_FileMovedAwayAndNotBack_NoReload()
    {
        var time = new FakeTimeProvider();
        await using var watcher = Watcher(time);
        watcher.Start(watchFile: false, handleSighup: false);
        File.Move(ConfigFile, ConfigFile + ".bak");

        watcher.NotifyFileChanged();
        time.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(300);

        Assert.Equal(0, Reloads);
    }

    [Theory]
    [InlineData("rename")]
    [InlineData("write")]
    public async Task Start_FileReplacedOnDisk_ReloadsOnce(string how)
    {
        await using var watcher = Watcher(TimeProvider.System);
        watcher.Start(handleSighup: false);
        // A file beside it changing is not the config changing.
        await File.WriteAllTextAsync(_dir.File("other.yaml"), "x");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, Reloads);

        if (how == "rename")
        {
            // How editors save: write a temporary file, rename it over the original.
            var temp = _dir.File(".roadmap.yaml.swp");
            await File.WriteAllTextAsync(temp, "roadmap: { name: S }\n");
            File.Move(temp, ConfigFile, overwrite: true);
        }
        else
        {
            await File.WriteAllTextAsync(ConfigFile, "roadmap: { name: S }\n");
        }

        Assert.True(await Eventually(() => Reloads >= 1), "no reload after the file changed");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(["file change"], _reloads);
    }

    [Fact]
    public async Task Start_SymbolicLinkSwappedElsewhere_ReloadsOnce()
    {
        // How Kubernetes mounts a ConfigMap: the config is a link through ..data, itself a link to a folder of the
        // current version; an update writes a new folder and swaps ..data. Nothing is written at the config's path.
        foreach (var (version, name) in new[] { ("..v1", "R"), ("..v2", "S") })
        {
            Directory.CreateDirectory(_dir.File(version));
            await File.WriteAllTextAsync(Path.Combine(_dir.File(version), "roadmap.yaml"), $"roadmap: {{ name: {name} }}\n");
        }

        File.SetLastWriteTimeUtc(Path.Combine(_dir.File("..v2"), "roadmap.yaml"), DateTime.UtcNow.AddMinutes(1));
        File.CreateSymbolicLink(_dir.File("..data"), "..v1");
        var config = _dir.File("mounted.yaml");
        File.CreateSymbolicLink(config, Path.Combine("..data", "roadmap.yaml"));
        await using var watcher = Watcher(TimeProvider.System, config);
        watcher.Start(handleSighup: false);
        await Task.Delay(ConfigWatcher.PollEvery * 1.5);
        Assert.Equal(0, Reloads);

        File.CreateSymbolicLink(_dir.File("..data_tmp"), "..v2");
        // rename(2) over the old link, as Kubernetes does (File.Move will not move a link to a folder).
        using (var mv = System.Diagnostics.Process.Start("mv", ["-T", _dir.File("..data_tmp"), _dir.File("..data")]))
        {
            await mv.WaitForExitAsync();
            Assert.Equal(0, mv.ExitCode);
        }

        Assert.Equal("roadmap: { name: S }\n", await File.ReadAllTextAsync(config));
        Assert.True(await Eventually(() => Reloads >= 1), "no reload after the link was swapped");
        await Task.Delay(ConfigWatcher.PollEvery * 1.5);
        Assert.Equal(["file change"], _reloads);
    }

    [Fact]
    public async Task Start_FilesBesideItWrittenOften_NoReload()
    {
        // The database and its journal often lie beside the config and are written many times a second.
        await using var watcher = Watcher(TimeProvider.System);
        watcher.Start(handleSighup: false);
        var until = DateTime.UtcNow + (ConfigWatcher.PollEvery * 2.5);
        for (var i = 0; DateTime.UtcNow < until; i++)
        {
            await File.WriteAllTextAsync(_dir.File("roadmap.db-wal"), $"page {i}");
            await Task.Delay(10);
        }

        Assert.Equal(0, Reloads);
    }
}
