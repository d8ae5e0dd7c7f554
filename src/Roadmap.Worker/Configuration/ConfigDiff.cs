using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Roadmap.Core.Config;

namespace Roadmap.Worker.Configuration;

/// <summary>
/// What a reload changes, by id: sources added, removed and changed (any difference in the source's config, or a
/// cron source whose time zone changed), settings that apply and settings that need a restart. Pure.
/// </summary>
public sealed class ConfigDiff
{
    /// <summary>The settings a running service applies on reload; every other setting needs a restart.</summary>
    public static readonly IReadOnlySet<string> ReloadableSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(SettingsConfig.EvaluateEvery),
        nameof(SettingsConfig.TimeZone),
    };

    private ConfigDiff(RoadmapConfig previous, RoadmapConfig next)
    {
        var before = previous.Sources.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var after = next.Sources.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var zoneChanged = !previous.Settings.TimeZone.Equals(next.Settings.TimeZone);
        Added = next.Sources.Where(s => !before.ContainsKey(s.Id)).ToList();
        Removed = previous.Sources.Where(s => !after.ContainsKey(s.Id)).ToList();
        Changed = next.Sources
            .Where(s => before.TryGetValue(s.Id, out var old) && (!Same(old, s) || (zoneChanged && s.Schedule.Cron is not null)))
            .Select(s => (before[s.Id], s))
            .ToList();
        Unchanged = next.Sources.Where(s => before.ContainsKey(s.Id) && !Changed.Any(c => c.Next.Id == s.Id)).Select(s => s.Id).ToList();
        NeedRestart = RestartOnlyChanges(previous.Settings, next.Settings, ReloadableSettings);
        EvaluateEveryChanged = previous.Settings.EvaluateEvery != next.Settings.EvaluateEvery;
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
        var settings = previous.Settings with { EvaluateEvery = next.Settings.EvaluateEvery, TimeZone = next.Settings.TimeZone };
        return next with { Settings = settings };
    }

    /// <summary>
    /// The properties of two settings objects that differ, except the <paramref name="reloadable"/> ones, named as the
    /// file writes them (camelCase).
    /// </summary>
    public static IReadOnlyList<(string Key, string Running, string Next)> RestartOnlyChanges<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T previous, T next, IReadOnlySet<string> reloadable)
        where T : class =>
        typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && !reloadable.Contains(p.Name))
            .Where(p => !Same(p.GetValue(previous), p.GetValue(next)))
            .Select(p => (char.ToLowerInvariant(p.Name[0]) + p.Name[1..], Describe(p.GetValue(previous)), Describe(p.GetValue(next))))
            .ToList();

    /// <summary>
    /// Structural equality of config values: records are compared member by member and lists and maps element by
    /// element (a record's own Equals compares its lists by reference, so two loads of one file would differ).
    /// </summary>
    public static bool Same(object? a, object? b) => Same(a, b, 0);

    // The values compared are config records of Roadmap.Core and Roadmap.Sources, whose properties the native build
    // keeps: Roadmap.Worker.csproj roots both assemblies (TrimmerRootAssembly). ConfigDiffTests covers the comparison
    // on the JIT, NativeBuildTests' reload of an unchanged file in the native build.
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Config types are rooted for reflection; see above.")]
    private static bool Same(object? a, object? b, int depth)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.GetType() != b.GetType() || depth > 32)
        {
            return false;
        }

        var type = a.GetType();
        if (type.IsPrimitive || type.IsEnum || type.IsValueType || a is string or Uri or TimeZoneInfo or Type)
        {
            return a.Equals(b);
        }

        if (a is IDictionary da && b is IDictionary db)
        {
            return da.Count == db.Count && da.Keys.Cast<object>().All(k => db.Contains(k) && Same(da[k], db[k], depth + 1));
        }

        if (a is IEnumerable ea && b is IEnumerable eb)
        {
            var la = ea.Cast<object?>().ToList();
            var lb = eb.Cast<object?>().ToList();
            return la.Count == lb.Count && la.Zip(lb).All(p => Same(p.First, p.Second, depth + 1));
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToList();
        return properties.Count == 0
            ? a.Equals(b)
            : properties.All(p => Same(p.GetValue(a), p.GetValue(b), depth + 1));
    }

    private static string Describe(object? value) => value switch
    {
        null => "(none)",
        TimeSpan t => Durations.Format(t),
        TimeZoneInfo z => z.Id,
        _ => value.ToString() ?? "",
    };
}
