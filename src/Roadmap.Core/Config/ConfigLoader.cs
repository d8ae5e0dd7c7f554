using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Roadmap.Core.Config;

/// <summary>
/// Loads and validates a roadmap file. Every error is collected, each with file:line:col and the key it is about;
/// the model is returned only when there is none. Nothing else is touched: no database, no network.
/// </summary>
public sealed partial class ConfigLoader
{
    /// <summary>The default config path, relative to the working directory.</summary>
    public const string DefaultPath = "config/roadmap.yaml";

    private static readonly string[] RatioKeys = ["numerator", "denominator"];

    private readonly IReadOnlyDictionary<string, ISourceKindSpec> _kinds;
    private readonly Func<string, string?> _environment;

    /// <param name="kinds">The source kinds that exist, by name.</param>
    /// <param name="environment">Looks up <c>${VAR}</c>; defaults to the process environment.</param>
    public ConfigLoader(IEnumerable<ISourceKindSpec> kinds, Func<string, string?>? environment = null)
    {
        _kinds = kinds.ToDictionary(k => k.Kind, StringComparer.Ordinal);
        _environment = environment ?? System.Environment.GetEnvironmentVariable;
    }

    /// <summary>
    /// The largest config file read: 4 MiB (a config of 2,000 sources and 1,000 KPIs is about 0.5 MiB). Checked before
    /// reading and enforced while reading, so /dev/zero or a file that grows is refused, not read into memory.
    /// </summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Reads and validates <paramref name="path"/>: a regular file (or a symbolic link to one) of at most
    /// <see cref="MaxFileBytes"/>. A FIFO, device, socket or directory is an error, never waited on.
    /// </summary>
    public ConfigLoadResult LoadFile(string path)
    {
        var read = RegularFile.Read(path, MaxFileBytes);
        if (read.TooLarge)
        {
            return new ConfigLoadResult(null, [new ConfigError(path, 1, 1, $"config is larger than {MaxFileBytes / 1024 / 1024} MiB")]);
        }

        if (read.Bytes is not { } bytes)
        {
            return new ConfigLoadResult(null, [new ConfigError(path, 1, 1, $"cannot read the config file: {read.Problem}")]);
        }

        var preamble = Encoding.UTF8.Preamble;
        var text = Encoding.UTF8.GetString(bytes.AsSpan().StartsWith(preamble) ? bytes.AsSpan(preamble.Length) : bytes);
        return Load(text, path);
    }

    public ConfigLoadResult Load(string yaml, string file)
    {
        var context = new ConfigContext(file, _environment);
        var stream = new YamlStream();
        try
        {
            // Checked first: the shapes YamlStream cannot load without overflowing the stack (a crash, not an error).
            if (YamlShape.Problem(yaml) is { } shape)
            {
                context.Error(shape.At, $"YAML structure not allowed: {shape.Message}");
                return new ConfigLoadResult(null, context.Errors);
            }

            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            var message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            // A known slip (an unquoted ">= 90%", a tab, a key out of line) is told as what to fix, where to fix it.
            var (at, what) = YamlTraps.Explain(yaml, e.Start, message) ?? (e.Start, message);
            context.Error(WithinText(at, yaml), $"YAML syntax error: {what}");
            return new ConfigLoadResult(null, context.Errors);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet throws this, not a YamlException, when the file ends inside an open { or [.
            var lines = yaml.Split('\n');
            context.Error(new Mark(0, Math.Max(1, lines.Length - (lines[^1].Length == 0 ? 1 : 0)), 1), "YAML syntax error: the file ends inside an unclosed { or [");
            return new ConfigLoadResult(null, context.Errors);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var at = stream.Documents.Count == 0 ? Mark.Empty : stream.Documents[0].RootNode.Start;
            context.Error(at.Line == 0 ? new Mark(0, 1, 1) : at, "the config must be a mapping with the keys roadmap, settings, sources and initiatives");
            return new ConfigLoadResult(null, context.Errors);
        }

        if (stream.Documents.Count > 1)
        {
            context.Error(stream.Documents[1].RootNode.Start, "only one YAML document is allowed in a config file");
        }

        // Every key's type and required checks, from the declarations; the readers below add what involves several keys.
        var top = new ConfigSection(context, root, "").Declare(ConfigSchema.TopLevel);
        var roadmap = ReadRoadmap(top);
        var settings = ReadSettings(top);
        var sources = ReadSources(top, out var declared);
        var initiatives = ReadInitiatives(top, roadmap, sources, declared);
        top.RejectUnknownKeys();

        if (context.ErrorCount > 0 || roadmap is null)
        {
            return new ConfigLoadResult(null, context.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList()) { MoreErrors = context.MoreErrors };
        }

        return new ConfigLoadResult(new RoadmapConfig(file, roadmap, settings, sources, initiatives), [])
        {
            Warnings = context.Warnings.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList(),
        };
    }

    /// <summary>
    /// YamlDotNet places an error at the end of a file that lacks a final newline one line past the end; it is moved
    /// to the end of the last line, so that an editor can go there.
    /// </summary>
    private static Mark WithinText(Mark at, string yaml)
    {
        // Counted as YamlDotNet counts lines: \r\n, \r, \n, and the Unicode breaks NEL, LS and PS.
        var lines = 1;
        var lastLineStart = 0;
        for (var i = 0; i < yaml.Length; i++)
        {
            if (yaml[i] is '\n' or '\r' or '\u0085' or '\u2028' or '\u2029')
            {
                i += yaml[i] == '\r' && i + 1 < yaml.Length && yaml[i + 1] == '\n' ? 1 : 0;
                lines++;
                lastLineStart = i + 1;
            }
        }

        return at.Line > lines ? new Mark(at.Index, lines, yaml.Length - lastLineStart + 1) : at;
    }

    private static RoadmapInfo? ReadRoadmap(ConfigSection top)
    {
        var s = top.Section("roadmap");
        if (s is null)
        {
            return null;
        }

        var name = s.Text("name");
        var vision = s.Text("vision");
        var goals = new List<GoalConfig>();
        var seen = new Dictionary<string, ConfigSection>();
        foreach (var g in s.SectionList("goals"))
        {
            var id = g.Id("id");
            var title = g.Text("title");
            g.RejectUnknownKeys();
            if (id is not null && CheckUnique(seen, id, g) && title is not null)
            {
                goals.Add(new GoalConfig(id, title));
            }
        }

        s.RejectUnknownKeys();
        return new RoadmapInfo(name ?? "", vision, goals);
    }

    private static SettingsConfig ReadSettings(ConfigSection top)
    {
        var s = top.Section("settings");
        if (s is null)
        {
            return new SettingsConfig(SettingsConfig.DefaultEvaluateEvery, TimeZoneInfo.Utc);
        }

        var every = s.Duration("evaluateEvery") ?? SettingsConfig.DefaultEvaluateEvery;
        var zone = TimeZoneInfo.Utc;
        if (s.Text("timezone") is { } tz)
        {
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(tz, out var found))
            {
                s.Error("timezone", $"unknown time zone \"{tz}\": expected an IANA name such as UTC or Europe/Berlin");
            }
            else
            {
                zone = found;
            }
        }

        var auth = ReadAuth(s);
        var network = ReadNetwork(s);
        var retention = ReadRetention(s);
        var storage = ReadStorage(s);
        var updates = UpdatesConfig.Read(s);
        var cluster = ReadCluster(s, storage);
        s.RejectUnknownKeys();
        return new SettingsConfig(every, zone, auth) { Network = network, Retention = retention, Storage = storage, Updates = updates, Cluster = cluster };
    }

    private static AuthConfig? ReadAuth(ConfigSection settings)
    {
        var a = settings.Section("auth");
        if (a is null)
        {
            return null;
        }

        // An empty value must not quietly leave the endpoints open: `bearerToken: ${TOKEN}` with TOKEN="" is a mistake.
        var hasToken = a.Has("bearerToken") || a.Has("bearerTokenFile");
        var token = a.Secret("bearerToken");
        if (hasToken && string.IsNullOrEmpty(token) && !a.Failed("bearerToken"))
        {
            a.Error(a.Has("bearerToken") ? "bearerToken" : "bearerTokenFile", "must not be empty");
            token = null;
        }

        var errorsBefore = a.Context.ErrorCount;
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        var u = a.Section("basicAuthUsers");
        foreach (var name in u?.Keys.ToList() ?? [])
        {
            var hash = u!.Text(name, required: true);
            if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal))
            {
                // Basic auth sends "user:password": a user name with a colon could never sign in.
                u.Error(name, "a user name must be non-empty and must not contain ':'");
            }
            else if (hash is not null && !BcryptHash().IsMatch(hash))
            {
                // Never quote the value: a mistake here is often a plain password pasted where its hash belongs.
                u.Error(name, "not a bcrypt hash: expected $2a$, $2b$ or $2y$, a cost from 04 to 31 and 53 characters of salt and hash, e.g. from `htpasswd -nbBC 10 USER PASSWORD`");
            }
            else if (hash is not null)
            {
                a.Context.AddSecret(hash);
                users[name] = hash;
            }
        }

        if (a.Has("basicAuthUsers") && users.Count == 0 && a.Context.ErrorCount == errorsBefore && !a.Failed("basicAuthUsers"))
        {
            a.Error("basicAuthUsers", "no users: add one as NAME: BCRYPT-HASH, or remove the key");
        }

        if (!hasToken && !a.Has("basicAuthUsers"))
        {
            a.Error("set bearerToken, bearerTokenFile or basicAuthUsers, or remove settings.auth");
        }

        a.RejectUnknownKeys();
        return token is null && users.Count == 0 ? null : new AuthConfig(token, users);
    }

    /// <summary>settings.network: deny and allow lists of CIDRs, and maxRedirects.</summary>
    private static NetworkSettings ReadNetwork(ConfigSection settings)
    {
        var s = settings.Section("network");
        if (s is null)
        {
            return NetworkSettings.Default;
        }

        // A deny key replaces the default list: `deny: []` (or an empty value) turns the deny list off.
        var listed = s.NetworkList("deny");
        var deny = s.Has("deny") ? listed : NetworkSettings.DefaultDeny;
        var allow = s.NetworkList("allow");
        var maxRedirects = s.WholeNumber("maxRedirects") ?? NetworkSettings.DefaultMaxRedirects;
        s.RejectUnknownKeys();
        return new NetworkSettings(deny, allow, maxRedirects);
    }

    /// <summary>settings.storage: the backend, and for PostgreSQL its connection string (a secret).</summary>
    private static StorageConfig ReadStorage(ConfigSection settings)
    {
        var s = settings.Section("storage");
        if (s is null)
        {
            return StorageConfig.Default;
        }

        var kind = s.OneOf("kind") ?? StorageConfig.Sqlite;
        var connection = s.Secret("connectionString");
        var flush = s.Duration("flushEvery") ?? StorageConfig.DefaultFlushEvery;
        s.CheckRange("flushEvery", flush, StorageConfig.MinFlushEvery, StorageConfig.MaxFlushEvery);

        var named = s.Has("connectionString") || s.Has("connectionStringFile");
        if (s.Failed("kind") || s.Failed("connectionString"))
        {
            // Already reported at its key.
        }
        else if (kind == StorageConfig.Postgres && !named)
        {
            s.Error("kind", "kind postgres needs connectionString (e.g. \"${ROADMAP_PG}\") or connectionStringFile");
        }
        else if (kind == StorageConfig.Postgres && string.IsNullOrWhiteSpace(connection))
        {
            // `connectionString: ${ROADMAP_PG}` with the variable unset or empty must not fall back to anything.
            s.Error(s.Has("connectionString") ? "connectionString" : "connectionStringFile", "must not be empty");
        }
        else if (kind == StorageConfig.Sqlite && named)
        {
            s.Error(s.Has("connectionString") ? "connectionString" : "connectionStringFile", "is for kind postgres; the SQLite file is named by --database");
        }

        s.RejectUnknownKeys();
        return (kind == StorageConfig.Postgres ? new StorageConfig(kind, connection) : StorageConfig.Default) with { FlushEvery = flush };
    }

    /// <summary>settings.cluster: replicas on one PostgreSQL, so it needs <c>storage.kind: postgres</c>.</summary>
    private static ClusterConfig ReadCluster(ConfigSection settings, StorageConfig storage)
    {
        var c = settings.Section("cluster");
        if (c is null)
        {
            return ClusterConfig.Off;
        }

        var enabled = c.Bool("enabled") ?? false;
        var shards = c.WholeNumber("shards") ?? ClusterConfig.DefaultShards;
        var window = c.Duration("window") ?? ClusterConfig.DefaultWindow;
        var checkin = c.Duration("checkinInterval") ?? ClusterConfig.DefaultCheckinInterval;
        var failover = c.Duration("failoverAfter") ?? ClusterConfig.DefaultFailoverAfter;
        if (enabled && storage.Kind != StorageConfig.Postgres && !settings.Failed("storage"))
        {
            // Replicas agree through the database: a SQLite file cannot be shared by processes on several machines.
            c.Error("enabled", "cluster mode needs settings.storage.kind: postgres (every replica on the same PostgreSQL)");
        }

        c.CheckRange("window", window, ClusterConfig.MinWindow, ClusterConfig.MaxWindow);

        if (c.Has("checkinInterval") && !c.Failed("checkinInterval") && checkin < TimeSpan.FromMilliseconds(500))
        {
            c.Error("checkinInterval", "must be at least 500ms: each check-in is a write to the database");
        }

        if (c.Has("failoverAfter") && !c.Failed("failoverAfter") && failover < 2 * checkin)
        {
            // Shorter, a healthy replica whose check-in is a little late (a loaded host) would lose its shards.
            c.Error("failoverAfter", $"must be at least twice checkinInterval ({Durations.Format(2 * checkin)})");
        }

        c.RejectUnknownKeys();
        return new ClusterConfig(enabled, shards, window, checkin, failover);
    }

    private static RetentionConfig ReadRetention(ConfigSection settings)
    {
        var r = settings.Section("retention");
        if (r is null)
        {
            return RetentionConfig.Default;
        }

        var raw = r.Duration("raw");
        var rollups = r.Duration("rollups");
        var config = new RetentionConfig(raw ?? RetentionConfig.DefaultRaw, rollups ?? RetentionConfig.DefaultRollups);
        if (config.Raw > config.Rollups)
        {
            // Reported at whichever of the two was written (raw when both were).
            r.Error(raw is not null ? "raw" : "rollups",
                $"raw samples ({Durations.Format(config.Raw)}) must not be kept longer than rollups ({Durations.Format(config.Rollups)}{(rollups is null ? ", the default" : "")}): long windows are answered from rollups once raw samples are gone");
        }

        r.RejectUnknownKeys();
        return config;
    }

    /// <param name="declared">Every id written under sources, valid or not: a KPI naming a broken source gets no second error.</param>
    private List<SourceConfig> ReadSources(ConfigSection top, out HashSet<string> declared)
    {
        declared = new HashSet<string>(StringComparer.Ordinal);
        var sources = new List<SourceConfig>();
        var seen = new Dictionary<string, ConfigSection>();
        foreach (var s in top.SectionList("sources"))
        {
            if (s.Raw("id") is { } rawId)
            {
                declared.Add(rawId);
            }

            var id = s.Id("id");
            var kindName = s.Text("kind");
            var every = s.Duration("every");
            var cron = s.Text("cron");
            var timeout = s.Duration("timeout") ?? SourceConfig.DefaultTimeoutFor(every);
            if (cron is not null)
            {
                if (s.Has("every"))
                {
                    s.Error("cron", "set either every or cron, not both");
                }
                else if (CronProblem(cron) is { } problem)
                {
                    s.Error("cron", $"bad cron expression \"{s.Raw("cron")}\": {problem}");
                }
            }

            if (cron is null && s.Has("timeout") && timeout >= (every ?? PollSchedule.DefaultEvery))
            {
                var interval = every is { } e ? Durations.Format(e) : $"{Durations.Format(PollSchedule.DefaultEvery)} (the default every)";
                s.Error("timeout", $"timeout {Durations.Format(timeout)} must be shorter than the poll interval {interval}");
            }

            object? options = null;
            IReadOnlyList<string> signals = [];
            var secretsBefore = s.Context.Secrets.Count;
            if (kindName is not null)
            {
                if (_kinds.TryGetValue(kindName, out var kind))
                {
                    // The kind's keys are checked by their declarations before its Bind reads them.
                    options = kind.Bind(s.Declare(kind.Keys));
                    signals = kind.Signals(options);

                    // Unknown keys are only knowable once the kind's keys are declared.
                    s.RejectUnknownKeys();
                }
                else
                {
                    s.Error("kind", $"unknown source kind \"{kindName}\": expected one of {string.Join(", ", _kinds.Keys.Order(StringComparer.Ordinal))}");
                }
            }

            if (id is not null && CheckUnique(seen, id, s) && options is not null)
            {
                var secrets = s.Context.Secrets.Skip(secretsBefore).ToList();
                sources.Add(new SourceConfig(id, kindName!, new PollSchedule(cron is null ? every ?? PollSchedule.DefaultEvery : null, cron), timeout, options, signals, secrets));
            }
        }

        return sources;
    }

    /// <summary>Why <paramref name="cron"/> is no Quartz cron expression that fires; null when it is one.</summary>
    internal static string? CronProblem(string cron)
    {
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields == 5)
        {
            return "it has 5 fields (the Unix form); Quartz cron has seconds first: sec min hour day-of-month month day-of-week [year], e.g. \"0 */5 * * * ?\"";
        }

        Quartz.CronExpression expression;
        try
        {
            expression = new Quartz.CronExpression(cron);
        }
        catch (FormatException e)
        {
            return $"{e.Message.TrimEnd('.')} (Quartz syntax: sec min hour day-of-month month day-of-week [year], e.g. \"0 0/5 * * * ?\")";
        }

        // Quartz parses some expressions it then cannot schedule: "0 0/5 * , * ?" throws when asked for a fire
        // time, "0 0 0 31 2 ?" has none. The scheduler would fail on either at start, after the config was accepted.
        try
        {
            return expression.GetNextValidTimeAfter(DateTimeOffset.UnixEpoch) is null
                ? "it never fires (no date matches all of its fields)"
                : null;
        }
        catch (ArgumentException)
        {
            return "Quartz cannot compute when it fires (check the day-of-month and day-of-week fields)";
        }
    }

    private static List<InitiativeConfig> ReadInitiatives(ConfigSection top, RoadmapInfo? roadmap, List<SourceConfig> sources, HashSet<string> declaredSources)
    {
        var result = new List<InitiativeConfig>();
        var seen = new Dictionary<string, ConfigSection>();
        var dependencies = new List<(string Id, ConfigSection Section, IReadOnlyList<(string Value, Mark At)> On)>();
        var sections = top.SectionList("initiatives");
        // Looked up once per KPI: a scan would be KPIs x sources (10^8 string compares for a config at the node cap).
        var sourcesById = sources.ToDictionary(s => s.Id, StringComparer.Ordinal);
        foreach (var s in sections)
        {
            var id = s.Id("id");
            var name = s.Text("name");
            var goal = s.Text("goal");
            if (goal is not null && roadmap is not null && roadmap.Goals.All(g => g.Id != goal))
            {
                var known = roadmap.Goals.Count == 0 ? "roadmap.goals is empty" : $"known goals: {string.Join(", ", roadmap.Goals.Select(g => g.Id))}";
                s.Error("goal", $"unknown goal \"{goal}\" ({known})");
            }

            var timeline = ReadTimeline(s);
            var statusText = s.OneOf("status");
            var status = statusText switch
            {
                "in-progress" => DeclaredStatus.InProgress,
                "done" => DeclaredStatus.Done,
                "cancelled" => DeclaredStatus.Cancelled,
                _ => DeclaredStatus.Planned,
            };
            var owner = s.Text("owner");
            var details = s.Text("details");
            var dependsOn = s.StringList("dependsOn");
            var risks = new List<RiskConfig>();
            foreach (var r in s.SectionList("risks"))
            {
                var risk = r.Text("risk");
                var mitigation = r.Text("mitigation");
                r.RejectUnknownKeys();
                if (risk is not null)
                {
                    risks.Add(new RiskConfig(risk, mitigation));
                }
            }

            var kpis = new List<KpiConfig>();
            var kpiIds = new Dictionary<string, ConfigSection>();
            foreach (var k in s.SectionList("kpis"))
            {
                if (ReadKpi(k, sources, sourcesById, declaredSources, timeline, s.Has("timeline")) is { } kpi && CheckUnique(kpiIds, kpi.Id, k))
                {
                    kpis.Add(kpi);
                }
            }

            s.RejectUnknownKeys();
            if (id is not null && CheckUnique(seen, id, s))
            {
                dependencies.Add((id, s, dependsOn));
                result.Add(new InitiativeConfig(id, name ?? id, goal, timeline, status, owner, details, dependsOn.Select(d => d.Value).ToList(), risks, kpis));
            }
        }

        CheckDependencies(dependencies, top.Context);
        return result;
    }

    private static Timeline? ReadTimeline(ConfigSection s)
    {
        var node = s.Node("timeline", required: false);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode scalar:
                if (s.Text("timeline") is not { } text)
                {
                    return null;
                }

                if (Dates.TryParseQuarter(text, out var start, out var due))
                {
                    return new Timeline(start, due, text.Trim());
                }

                s.Error("timeline", $"bad quarter \"{scalar.Value}\": {Dates.ExpectedQuarter}");
                return null;
            default:
                var t = s.Section("timeline");
                if (t is null)
                {
                    return null;
                }

                var from = t.Date("start");
                var to = t.Date("due");
                t.RejectUnknownKeys();
                if (from is { } f && to is { } d)
                {
                    if (d < f)
                    {
                        t.Error("due", $"due {d:yyyy-MM-dd} is before start {f:yyyy-MM-dd}");
                        return null;
                    }

                    return new Timeline(f, d, $"{f:yyyy-MM-dd}..{d:yyyy-MM-dd}");
                }

                return null;
        }
    }

    /// <param name="hasTimeline">The initiative has a timeline key, valid or not: a broken one is reported once, there.</param>
    private static KpiConfig? ReadKpi(ConfigSection k, List<SourceConfig> sources, Dictionary<string, SourceConfig> sourcesById, HashSet<string> declaredSources, Timeline? timeline, bool hasTimeline)
    {
        var id = k.Id("id");
        var name = k.Text("name");
        var sourceId = k.Text("source");
        // One of the declared names, or null (reported) when it is none.
        var aggregateText = k.Text("aggregate");
        var aggregate = aggregateText is not null && AggregateNames.TryParse(aggregateText, out var named) ? named : Aggregate.Avg;

        var source = sourceId is null ? null : sourcesById.GetValueOrDefault(sourceId);
        if (sourceId is not null && source is null && !declaredSources.Contains(sourceId))
        {
            var known = sources.Count == 0 ? "no sources are defined" : $"known sources: {string.Join(", ", sources.Select(s => s.Id))}";
            k.Error("source", $"unknown source \"{sourceId}\" ({known})");
        }

        string? signal;
        var denominator = new List<string>();
        if (aggregate == Aggregate.Ratio)
        {
            signal = k.Text("numerator", required: true);
            CheckSignal(k, "numerator", signal, source);
            foreach (var (d, _) in k.StringList("denominator"))
            {
                denominator.Add(d);
                CheckSignal(k, "denominator", d, source);
            }

            if (denominator.Count == 0)
            {
                k.Error("missing required key \"denominator\" (aggregate ratio divides the sum of numerator by the sum of the denominator signals)");
            }

            if (k.Node("signal", required: false) is not null)
            {
                k.Error("signal", "aggregate ratio takes numerator and denominator, not signal");
            }
        }
        else
        {
            signal = k.Text("signal", required: source is null || source.Signals.Count != 1) ?? (source is { Signals.Count: > 0 } ? source.Signals[0] : null);
            CheckSignal(k, "signal", signal, source);
            foreach (var extra in RatioKeys.Where(key => k.Node(key, required: false) is not null))
            {
                k.Error(extra, $"{extra} is only for aggregate ratio");
            }
        }

        Window? window = null;
        if (k.Text("window") is { } w && !Window.TryParse(w, out window))
        {
            k.Error("window", $"bad window \"{k.Raw("window")}\": expected a duration such as 30d or 1h30m (units ms, s, m, h, d, w), or one of day, week, month, quarter");
        }

        Target? target = null;
        if (k.Text("target") is { } t && !Target.TryParse(t, out target) && !Target.TryParseDuration(t, out target))
        {
            k.Error("target", $"bad target \"{k.Raw("target")}\": {Target.Expected}");
        }

        var baseline = ReadBaseline(k);
        if (target is { IsRelative: true } && baseline is null && !k.Has("baseline"))
        {
            k.Error("target", $"target \"{target.Text}\" is relative to a baseline, but the KPI has no baseline");
        }
        else if (target is { IsRelative: false } && baseline is not null)
        {
            k.Error("baseline", $"a baseline is only used by a relative target such as \"<= baseline - 20%\", and target is \"{target.Text}\"");
        }

        DateOnly? deadline = null;
        if (k.Text("deadline") is { } dl)
        {
            if (dl == "due")
            {
                if (timeline is null && !hasTimeline)
                {
                    k.Error("deadline", "deadline \"due\" needs the initiative's timeline, and it has none");
                }

                deadline = timeline?.Due;
            }
            else if (Dates.TryParseDate(dl, out var date))
            {
                deadline = date;
            }
            else
            {
                k.Error("deadline", $"bad date \"{k.Raw("deadline")}\": {Dates.ExpectedDate}, or due (the initiative's due date)");
            }
        }

        var unit = k.Text("unit");
        if (target is { IsDuration: true } && signal is not null && Target.DurationProblem(aggregate, signal, unit) is { } misfit)
        {
            k.Error("target", $"target \"{target.Text}\": {misfit}");
            target = null;
        }

        if (target is not null && signal is not null)
        {
            TargetRange.Check(k, aggregate, signal, unit, target);
        }

        k.RejectUnknownKeys();
        if (id is null || source is null || signal is null || window is null || target is null || aggregateText is null && k.Has("aggregate"))
        {
            return null;
        }

        return new KpiConfig(id, name ?? id, source.Id, signal, denominator, aggregate, window, target, baseline, deadline, unit);
    }

    private static Baseline? ReadBaseline(ConfigSection k)
    {
        var node = k.Node("baseline", required: false);
        switch (node)
        {
            case null:
                return null;
            case YamlScalarNode:
                return k.Number("baseline") is { } n ? new Baseline(n, null, null) : null;
            default:
                var b = k.Section("baseline");
                if (b is null)
                {
                    return null;
                }

                var from = b.Date("from");
                var to = b.Date("to");
                b.RejectUnknownKeys();
                if (from is { } f && to is { } t)
                {
                    if (t < f)
                    {
                        b.Error("to", $"to {t:yyyy-MM-dd} is before from {f:yyyy-MM-dd}");
                        return null;
                    }

                    return new Baseline(null, f, t);
                }

                return null;
        }
    }

    private static void CheckSignal(ConfigSection k, string key, string? signal, SourceConfig? source)
    {
        if (signal is null || source is null || source.Signals.Contains(signal))
        {
            return;
        }

        k.Error(key, $"source \"{source.Id}\" (kind {source.Kind}) does not emit signal \"{signal}\"; it emits {string.Join(", ", source.Signals)}");
    }

    private static bool CheckUnique(Dictionary<string, ConfigSection> seen, string id, ConfigSection s)
    {
        if (seen.TryGetValue(id, out var first))
        {
            s.Error("id", $"duplicate id \"{id}\" (first defined at line {first.Start.Line})");
            return false;
        }

        seen[id] = s;
        return true;
    }

    private static void CheckDependencies(List<(string Id, ConfigSection Section, IReadOnlyList<(string Value, Mark At)> On)> all, ConfigContext context)
    {
        var byId = all.ToDictionary(a => a.Id);
        foreach (var (id, section, on) in all)
        {
            foreach (var (dep, at) in on)
            {
                if (dep == id)
                {
                    context.Error(at, $"{section.PathOf("dependsOn")}: initiative \"{id}\" depends on itself");
                }
                else if (!byId.ContainsKey(dep))
                {
                    context.Error(at, $"{section.PathOf("dependsOn")}: unknown initiative \"{dep}\" (known initiatives: {string.Join(", ", byId.Keys)})");
                }
            }
        }

        // Depth-first search; each cycle is reported once, at the dependency that closes it.
        var state = new Dictionary<string, int>();
        var stack = new List<string>();
        foreach (var id in byId.Keys)
        {
            Visit(id);
        }

        void Visit(string id)
        {
            state[id] = 1;
            stack.Add(id);
            var (_, section, on) = byId[id];
            foreach (var (dep, at) in on)
            {
                if (dep == id || !byId.ContainsKey(dep))
                {
                    continue;
                }

                var s = state.GetValueOrDefault(dep);
                if (s == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(dep)).Append(dep);
                    context.Error(at, $"{section.PathOf("dependsOn")}: dependency cycle {string.Join(" -> ", cycle)}");
                }
                else if (s == 0)
                {
                    Visit(dep);
                }
            }

            stack.RemoveAt(stack.Count - 1);
            state[id] = 2;
        }
    }

    /// <summary>A modular-crypt bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost 04-31, 22 characters of salt and 31 of hash.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex BcryptHash();
}
