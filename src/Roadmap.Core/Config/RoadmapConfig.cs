namespace Roadmap.Core.Config;

/// <summary>The whole roadmap file, validated. Built only by <see cref="ConfigLoader"/>.</summary>
public sealed record RoadmapConfig(
    string File,
    RoadmapInfo Roadmap,
    SettingsConfig Settings,
    IReadOnlyList<SourceConfig> Sources,
    IReadOnlyList<InitiativeConfig> Initiatives)
{
    public SourceConfig? FindSource(string id) => Sources.FirstOrDefault(s => s.Id == id);

    public InitiativeConfig? FindInitiative(string id) => Initiatives.FirstOrDefault(i => i.Id == id);

    /// <summary>Value equality: two loads of one file are equal (see <see cref="ConfigEquality"/>).</summary>
    public bool Equals(RoadmapConfig? other) =>
        other is not null && File == other.File && Roadmap.Equals(other.Roadmap) && Settings.Equals(other.Settings)
        && ConfigEquality.Same(Sources, other.Sources) && ConfigEquality.Same(Initiatives, other.Initiatives);

    public override int GetHashCode() => HashCode.Combine(File, Roadmap, Settings, ConfigEquality.Hash(Sources), ConfigEquality.Hash(Initiatives));
}

/// <summary>
/// Value equality for the lists and maps in config records. A record's generated Equals compares them by reference, so
/// two loads of one file would differ; reload (which keeps what did not change) needs them equal. Records with a list
/// or a map override Equals with these; lists compare in order, maps by key whatever their order.
/// </summary>
public static class ConfigEquality
{
    /// <summary>Same length and equal elements in the same order (both null counts as equal).</summary>
    public static bool Same<T>(IReadOnlyList<T>? a, IReadOnlyList<T>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!EqualityComparer<T>.Default.Equals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The same keys (as <paramref name="b"/>'s comparer finds them) with equal values (both null counts as equal).</summary>
    public static bool Same<TValue>(IReadOnlyDictionary<string, TValue>? a, IReadOnlyDictionary<string, TValue>? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Count != b.Count)
        {
            return false;
        }

        foreach (var (key, value) in a)
        {
            if (!b.TryGetValue(key, out var other) || !EqualityComparer<TValue>.Default.Equals(value, other))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A hash of a list's elements, consistent with <see cref="Same{T}(IReadOnlyList{T}, IReadOnlyList{T})"/>.</summary>
    public static int Hash<T>(IReadOnlyList<T>? list)
    {
        var hash = new HashCode();
        if (list is not null)
        {
            for (var i = 0; i < list.Count; i++)
            {
                hash.Add(list[i]);
            }
        }

        return hash.ToHashCode();
    }

    /// <summary>A map's size: consistent with <see cref="Same{TValue}(IReadOnlyDictionary{string, TValue}, IReadOnlyDictionary{string, TValue})"/> whatever the key comparers.</summary>
    public static int Hash<TValue>(IReadOnlyDictionary<string, TValue>? map) => map?.Count ?? -1;
}

public sealed record RoadmapInfo(string Name, string? Vision, IReadOnlyList<GoalConfig> Goals)
{
    public bool Equals(RoadmapInfo? other) =>
        other is not null && Name == other.Name && Vision == other.Vision && ConfigEquality.Same(Goals, other.Goals);

    public override int GetHashCode() => HashCode.Combine(Name, Vision, ConfigEquality.Hash(Goals));
}

public sealed record GoalConfig(string Id, string Title);

/// <summary>Global settings.</summary>
/// <param name="EvaluateEvery">How often KPIs are re-judged. Default 15 s.</param>
/// <param name="TimeZone">For calendar windows and quarter timelines. Default UTC.</param>
/// <param name="Auth">Credentials for /metrics, /api and the board; null (the default): those are open.</param>
public sealed record SettingsConfig(TimeSpan EvaluateEvery, TimeZoneInfo TimeZone, AuthConfig? Auth = null)
{
    public static readonly TimeSpan DefaultEvaluateEvery = TimeSpan.FromSeconds(15);

    /// <summary><c>settings.network</c>: where sources may connect. Default <see cref="NetworkSettings.Default"/>.</summary>
    public NetworkSettings Network { get; init; } = NetworkSettings.Default;

    /// <summary>How long stored data is kept (<c>settings.retention</c>).</summary>
    public RetentionConfig Retention { get; init; } = RetentionConfig.Default;

    /// <summary><c>settings.storage</c>: the storage backend. Default the embedded SQLite file.</summary>
    public StorageConfig Storage { get; init; } = StorageConfig.Default;

    /// <summary><c>settings.updates</c>: the scheduled updates to stakeholders. Default none.</summary>
    public UpdatesConfig Updates { get; init; } = UpdatesConfig.None;

    /// <summary><c>settings.cluster</c>: one replica of several. Default off (one process).</summary>
    public ClusterConfig Cluster { get; init; } = ClusterConfig.Off;
}

/// <summary><c>settings.cluster</c>: how replicas share the sources. Read once at start; a change needs a restart.</summary>
/// <param name="Enabled">Whether this process is one of several replicas on one PostgreSQL.</param>
/// <param name="Shards">How many shards the sources hash into. Default 128.</param>
/// <param name="Window">How long a claimed shard window lasts, and the period of each shard's claim. Default 5 s.</param>
/// <param name="CheckinInterval">How often a replica checks in with the cluster. Default 2 s.</param>
/// <param name="FailoverAfter">How long past a missed check-in before a replica is declared failed. Default 6 s.</param>
public sealed record ClusterConfig(bool Enabled, int Shards, TimeSpan Window, TimeSpan CheckinInterval, TimeSpan FailoverAfter)
{
    public const int DefaultShards = 128;

    public const int MaxShards = 4096;

    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan MaxWindow = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan DefaultCheckinInterval = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DefaultFailoverAfter = TimeSpan.FromSeconds(6);

    public static readonly ClusterConfig Off = new(false, DefaultShards, DefaultWindow, DefaultCheckinInterval, DefaultFailoverAfter);
}

/// <summary>
/// <c>settings.auth</c>: who may read /metrics, /api and the board. Either kind of credential is accepted when it is
/// configured; at least one is.
/// </summary>
/// <param name="BearerToken">The token a client sends as <c>Authorization: Bearer TOKEN</c>; null when not configured.</param>
/// <param name="BasicAuthUsers">User name to bcrypt hash ($2a$, $2b$ or $2y$), as Prometheus exporter-toolkit's basic_auth_users; empty when not configured.</param>
public sealed record AuthConfig(string? BearerToken, IReadOnlyDictionary<string, string> BasicAuthUsers)
{
    // The token and the hashes never belong in a log line or an exception message.
    public override string ToString() =>
        $"AuthConfig {{ BearerToken = {(BearerToken is null ? "none" : "***")}, BasicAuthUsers = [{string.Join(", ", BasicAuthUsers.Keys)}] }}";

    public bool Equals(AuthConfig? other) =>
        other is not null && BearerToken == other.BearerToken && ConfigEquality.Same(BasicAuthUsers, other.BasicAuthUsers);

    public override int GetHashCode() => HashCode.Combine(BearerToken, ConfigEquality.Hash(BasicAuthUsers));
}

/// <summary><c>settings.storage</c>: which backend stores the data. Read once at start; a change needs a restart.</summary>
/// <param name="Kind"><see cref="Sqlite"/> (the default; the file is <c>--database</c>) or <see cref="Postgres"/>.</param>
/// <param name="ConnectionString">For PostgreSQL: the connection string, a secret; null for SQLite.</param>
public sealed record StorageConfig(string Kind, string? ConnectionString)
{
    public const string Sqlite = "sqlite";

    public const string Postgres = "postgres";

    /// <summary>How often the writer commits the polls waiting in memory, unless <c>settings.storage.flushEvery</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultFlushEvery = TimeSpan.FromMilliseconds(500);

    public static readonly TimeSpan MinFlushEvery = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxFlushEvery = TimeSpan.FromSeconds(60);

    public static readonly StorageConfig Default = new(Sqlite, null);

    /// <summary><c>settings.storage.flushEvery</c>: how often the writer commits (<see cref="DefaultFlushEvery"/> unless set).</summary>
    public TimeSpan FlushEvery { get; init; } = DefaultFlushEvery;

    // The connection string carries a password: never in a log line, a reload message or an exception.
    public override string ToString() =>
        (ConnectionString is null ? Kind : $"{Kind} (connection string set)")
        + (FlushEvery == DefaultFlushEvery ? string.Empty : $", flushEvery {Durations.Format(FlushEvery)}");
}

/// <summary>How long stored data is kept. Raw never outlives rollups (rollups answer long windows once raw is gone).</summary>
/// <param name="Raw">Raw samples and poll records (<c>settings.retention.raw</c>). Default 35 days.</param>
/// <param name="Rollups">Hour and day rollups (<c>settings.retention.rollups</c>). Default 400 days.</param>
public sealed record RetentionConfig(TimeSpan Raw, TimeSpan Rollups)
{
    public static readonly TimeSpan DefaultRaw = TimeSpan.FromDays(35);

    public static readonly TimeSpan DefaultRollups = TimeSpan.FromDays(400);

    public static readonly RetentionConfig Default = new(DefaultRaw, DefaultRollups);
}

/// <summary>When a source is polled: a fixed interval or a Quartz cron expression, never both.</summary>
public sealed record PollSchedule(TimeSpan? Every, string? Cron)
{
    public static readonly TimeSpan DefaultEvery = TimeSpan.FromSeconds(15);

    public override string ToString() => Every is { } every ? $"every {Durations.Format(every)}" : $"cron {Cron}";
}

/// <summary>A source of samples. <see cref="Options"/> is the kind's own typed options object.</summary>
/// <param name="Timeout">Per-poll timeout. Default 5 s, or 80% of a shorter <c>every</c>.</param>
/// <param name="Signals">The signals this source emits, as its kind declares them for these options.</param>
/// <param name="Secrets">The secret values this source's config holds (tokens, passwords, header values): never printed.</param>
public sealed record SourceConfig(
    string Id,
    string Kind,
    PollSchedule Schedule,
    TimeSpan Timeout,
    object Options,
    IReadOnlyList<string> Signals,
    IReadOnlyList<string>? Secrets = null)
{
    /// <summary>
    /// <paramref name="text"/> with every secret of this source replaced by "***": applied to failure reasons before
    /// they reach logs, metrics, the API or check, in case a server echoes a credential back.
    /// </summary>
    public string? Redact(string? text) => RedactWith(text, Secrets);

    /// <summary><paramref name="text"/> with every one of <paramref name="secrets"/> replaced by "***" (also cut short, as above).</summary>
    public static string? RedactWith(string? text, IReadOnlyList<string>? secrets)
    {
        if (text is null || secrets is not { Count: > 0 })
        {
            return text;
        }

        foreach (var secret in secrets.OrderByDescending(s => s.Length))
        {
            text = text.Replace(secret, "***", StringComparison.Ordinal);

            // Sources shorten what a server sent ("…"): a cut may have left the first part of a secret.
            for (var n = secret.Length - 1; n >= 4; n--)
            {
                var cut = string.Concat(secret.AsSpan(0, n), "…");
                if (text.Contains(cut, StringComparison.Ordinal))
                {
                    text = text.Replace(cut, "***…", StringComparison.Ordinal);
                    break;
                }
            }
        }

        return text;
    }

    /// <summary>Value equality: <see cref="Options"/> by its kind's own Equals, the lists element by element.</summary>
    public bool Equals(SourceConfig? other) =>
        other is not null && Id == other.Id && Kind == other.Kind && Schedule.Equals(other.Schedule) && Timeout == other.Timeout
        && Options.Equals(other.Options) && ConfigEquality.Same(Signals, other.Signals) && ConfigEquality.Same(Secrets, other.Secrets);

    public override int GetHashCode() => HashCode.Combine(Id, Kind, Schedule, Timeout, Options, ConfigEquality.Hash(Signals), ConfigEquality.Hash(Secrets));

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>5 s, or 80% of a shorter poll interval: a poll must end before the next is due.</summary>
    public static TimeSpan DefaultTimeoutFor(TimeSpan? every) =>
        every is { } e && e * 0.8 < DefaultTimeout ? TimeSpan.FromMilliseconds(Math.Max(1, Math.Floor(e.TotalMilliseconds * 0.8))) : DefaultTimeout;
}

/// <summary>The declared state of an initiative, as the roadmap's owner writes it.</summary>
public enum DeclaredStatus
{
    Planned,
    InProgress,
    Done,
    Cancelled,
}

public static class DeclaredStatuses
{
    /// <summary>As written in the config and shown everywhere: planned, in-progress, done, cancelled.</summary>
    public static string Label(this DeclaredStatus status) => status switch
    {
        DeclaredStatus.InProgress => "in-progress",
        DeclaredStatus.Done => "done",
        DeclaredStatus.Cancelled => "cancelled",
        _ => "planned",
    };
}

/// <summary>When an initiative runs: both dates inclusive, in the roadmap's time zone.</summary>
/// <param name="Label">How it was written: "2027-Q1", or "2027-01-01..2027-03-31".</param>
public sealed record Timeline(DateOnly Start, DateOnly Due, string Label);

public sealed record RiskConfig(string Risk, string? Mitigation);

public sealed record InitiativeConfig(
    string Id,
    string Name,
    string? Goal,
    Timeline? Timeline,
    DeclaredStatus Status,
    string? Owner,
    string? Details,
    IReadOnlyList<string> DependsOn,
    IReadOnlyList<RiskConfig> Risks,
    IReadOnlyList<KpiConfig> Kpis)
{
    public bool Equals(InitiativeConfig? other) =>
        other is not null && Id == other.Id && Name == other.Name && Goal == other.Goal && Equals(Timeline, other.Timeline)
        && Status == other.Status && Owner == other.Owner && Details == other.Details && ConfigEquality.Same(DependsOn, other.DependsOn)
        && ConfigEquality.Same(Risks, other.Risks) && ConfigEquality.Same(Kpis, other.Kpis);

    public override int GetHashCode() => HashCode.Combine(Id, Name, Goal, Timeline, Status, ConfigEquality.Hash(Kpis));
}

/// <summary>A KPI: what is measured (source, signal, aggregate, window) and what it must reach (target, deadline).</summary>
/// <param name="Signal">The signal aggregated; for <see cref="Aggregate.Ratio"/> it is the numerator.</param>
/// <param name="Denominator">Only for ratio: the signals summed below the line.</param>
/// <param name="Baseline">Only for relative targets: a number, or a period measured with the KPI's own aggregate.</param>
/// <param name="Deadline">The date the target must be reached by (end of that day); null: must hold always.</param>
public sealed record KpiConfig(
    string Id,
    string Name,
    string Source,
    string Signal,
    IReadOnlyList<string> Denominator,
    Aggregate Aggregate,
    Window Window,
    Target Target,
    Baseline? Baseline,
    DateOnly? Deadline,
    string? Unit)
{
    public bool Equals(KpiConfig? other) =>
        other is not null && Id == other.Id && Name == other.Name && Source == other.Source && Signal == other.Signal
        && ConfigEquality.Same(Denominator, other.Denominator) && Aggregate == other.Aggregate && Window.Equals(other.Window)
        && Target.Equals(other.Target) && Equals(Baseline, other.Baseline) && Deadline == other.Deadline && Unit == other.Unit;

    public override int GetHashCode() => HashCode.Combine(Id, Name, Source, Signal, Aggregate, Window, Target, HashCode.Combine(Baseline, Deadline, Unit));
}

/// <summary>A baseline: a fixed number, or the KPI's aggregate over a past period (both dates inclusive).</summary>
public sealed record Baseline(double? Value, DateOnly? From, DateOnly? To);
