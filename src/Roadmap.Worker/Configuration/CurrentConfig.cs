using Roadmap.Core.Config;

namespace Roadmap.Worker.Configuration;

/// <summary>
/// The config the service runs on now. Long-lived services read <see cref="Value"/> each time they need it instead of
/// holding a <see cref="RoadmapConfig"/>: a reload (the worker's ConfigReloader) replaces it without a restart.
/// </summary>
public sealed class CurrentConfig(RoadmapConfig initial)
{
    private volatile RoadmapConfig _value = initial;
    private volatile ConfigReload? _lastReload;

    /// <summary>Raised after <see cref="Value"/> changed, with the config before and after, on the reloading thread.</summary>
    public event EventHandler<ConfigChangedEventArgs>? Changed;

    /// <summary>The current config; a whole, validated config, never a mix of two files.</summary>
    public RoadmapConfig Value => _value;

    /// <summary>How the last reload ended; null until one has (the load at start is not a reload).</summary>
    public ConfigReload? LastReload => _lastReload;

    /// <summary>Records how a reload ended. Only the reloader (and tests) call this.</summary>
    public void Reloaded(ConfigReload outcome) => _lastReload = outcome;

    /// <summary>Replaces the config and raises <see cref="Changed"/>. Only the reloader (and tests) call this.</summary>
    public void Set(RoadmapConfig next)
    {
        var previous = _value;
        _value = next;
        Changed?.Invoke(this, new ConfigChangedEventArgs(previous, next));
    }
}

/// <summary>A config replaced by a reload.</summary>
public sealed class ConfigChangedEventArgs(RoadmapConfig previous, RoadmapConfig current) : EventArgs
{
    public RoadmapConfig Previous { get; } = previous;

    public RoadmapConfig Current { get; } = current;
}
