using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Roadmap.Core.Config;

namespace Roadmap.Worker.Configuration;

/// <summary>
/// What a reload changes, by id: sources added, removed and changed (any difference in the source's config, by the
/// config records' value equality, or a cron source whose time zone changed), settings that apply and settings that
/// need a restart. Pure.
/// </summary>
public sealed class ConfigDiff
{
    /// <summary>In cluster mode: the same less <c>evaluateEvery</c>, which cuts the evaluation windows every replica shares.</summary>
    public static readonly IReadOnlySet<string> ClusterReloadableSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(SettingsConfig.TimeZone),
        nameof(SettingsConfig.Updates),
    };

    /// <summary>The settings a running service applies on reload; every other setting needs a restart.</summary>
    public static readonly IReadOnlySet<string> ReloadableSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(SettingsConfig.EvaluateEvery),
        nameof(SettingsConfig.TimeZone),
        // The update scheduler reads the config in force before each fire.
        nameof(SettingsConfig.Updates),
    };

    private ConfigDiff(RoadmapConfig previous, RoadmapConfig next)
    {
        var before = previous.Sources.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var after = next.Sources.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var zoneChanged = !previous.Settings.TimeZone.Equals(next.Settings.TimeZone);
        Added = next.Sources.Where(s => !before.ContainsKey(s.Id)).ToList();
        Removed = previous.Sources.Where(s => !after.ContainsKey(s.Id)).ToList();
        Changed = next.Sources
            .Where(s => before.TryGetValue(s.Id, out var old) && (!old.Equals(s) || (zoneChanged && s.Schedule.Cron is not null)))
            .Select(s => (before[s.Id], s))
            .ToList();
        Unchanged = next.Sources.Where(s => before.ContainsKey(s.Id) && !Changed.Any(c => c.Next.Id == s.Id)).Select(s => s.Id).ToList();
        // In a cluster every replica cuts the evaluation windows by evaluateEvery: replicas reloading at different
        // moments would disagree on them, so there it takes a restart of every replica.
        var reloadable = previous.Settings.Cluster.Enabled ? ClusterReloadableSettings : ReloadableSettings;
        NeedRestart = RestartOnlyChanges(previous.Settings, next.Settings, reloadable);
        EvaluateEveryChanged = !previous.Settings.Cluster.Enabled && previous.Settings.EvaluateEvery != next.Settings.EvaluateEvery;
    }

    public IReadOnlyList<SourceConfig> Added { get; }

    public IReadOnlyList<SourceConfig> Removed { get; }

    public IReadOnlyList<(SourceConfig Previous, SourceConfig Next)> Changed { get; }

    /// <summary>Ids of the sources whose schedule, counters and live source stay as they are.</summary>
    public IReadOnlyList<string> Unchanged { get; }

    /// <summary>Settings that differ but apply only at start: (key as written in the file, running value, new value).</summary>
    public IReadOnlyList<(string Key, string Running, string Next)> NeedRestart { get; }

    public bool EvaluateEveryChanged { get; }

    /// <summary>The differences between the running config and the one just loaded.</summary>
    public static ConfigDiff Between(RoadmapConfig previous, RoadmapConfig next) => new(previous, next);

    /// <summary>
    /// The config to run: <paramref name="next"/>, except that settings which need a restart keep their running
    /// values (so what runs is what the process started with, not what the file says).
    /// </summary>
    public static RoadmapConfig Effective(RoadmapConfig previous, RoadmapConfig next)
    {
        var every = previous.Settings.Cluster.Enabled ? previous.Settings.EvaluateEvery : next.Settings.EvaluateEvery;
        var settings = previous.Settings with { EvaluateEvery = every, TimeZone = next.Settings.TimeZone, Updates = next.Settings.Updates };
        return next with { Settings = settings };
    }

    /// <summary>
    /// The properties of two settings objects that differ, except the <paramref name="reloadable"/> ones, named as the
    /// file writes them (camelCase). <typeparamref name="T"/>'s own properties are kept in the native build by the
    /// annotation; their values are compared by <see cref="object.Equals(object?, object?)"/>, not by reflection.
    /// </summary>
    public static IReadOnlyList<(string Key, string Running, string Next)> RestartOnlyChanges<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T previous, T next, IReadOnlySet<string> reloadable)
        where T : class =>
        typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && !reloadable.Contains(p.Name))
            .Where(p => !Same(p.GetValue(previous), p.GetValue(next)))
            .Select(p => (char.ToLowerInvariant(p.Name[0]) + p.Name[1..], Describe(p.GetValue(previous)), Describe(p.GetValue(next))))
            .ToList();

    /// <summary>
    /// Whether two values of a setting are the same: config records compare by value (their own Equals), lists element
    /// by element. No reflection over the values' types, so nothing needs rooting in the native build.
    /// </summary>
    private static bool Same(object? a, object? b) => a switch
    {
        _ when Equals(a, b) => true,
        IEnumerable ea when a is not string && b is IEnumerable eb => SameSequence(ea, eb),
        _ => false,
    };

    private static bool SameSequence(IEnumerable a, IEnumerable b)
    {
        var ia = a.GetEnumerator();
        var ib = b.GetEnumerator();
        while (true)
        {
            var more = ia.MoveNext();
            if (more != ib.MoveNext())
            {
                return false;
            }

            if (!more)
            {
                return true;
            }

            if (!Same(ia.Current, ib.Current))
            {
                return false;
            }
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "(none)",
        TimeSpan t => Durations.Format(t),
        TimeZoneInfo z => z.Id,
        _ => value.ToString() ?? "",
    };
}
