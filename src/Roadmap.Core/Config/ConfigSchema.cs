using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Roadmap.Core.Config;

/// <summary>
/// The config's keys in one place: the declarations of the top-level sections (here) and of each source kind (its
/// <see cref="ISourceKindSpec.Keys"/>), and what is generated from them: the JSON Schema shipped as
/// <c>config/roadmap.schema.json</c> (draft-07, which yaml-language-server supports best) and README's config tables.
/// Built with <see cref="JsonObject"/>, never reflection, so it works in the native build.
/// </summary>
public static class ConfigSchema
{
    /// <summary>The JSON Schema dialect generated.</summary>
    public const string Draft = "http://json-schema.org/draft-07/schema#";

    private const string Variable = @"\$\{[A-Za-z_][A-Za-z0-9_]*\}";

    /// <summary>A duration: NUMBER UNIT pairs.</summary>
    public const string DurationPattern = @"^\s*(?:[0-9.]+\s*(?:ms|s|m|h|d|w)\s*)+$";

    /// <summary>A date, YYYY-MM-DD.</summary>
    public const string DatePattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

    /// <summary>An id: lowercase letters, digits and '-', at most 63 characters.</summary>
    public const string IdPattern = "^[a-z0-9][a-z0-9-]{0,62}$";

    /// <summary>An absolute http or https URL (the loader checks the rest).</summary>
    public const string UrlPattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]";

    /// <summary>A quarter: 2027-Q1, 2027Q1 or Q1 2027.</summary>
    public const string QuarterPattern = @"^\s*(?:[0-9]{4}\s*-?\s*[Qq][1-4]|[Qq][1-4]\s+[0-9]{4})\s*$";

    /// <summary>A target: an operator, then a number, a percent or a baseline expression.</summary>
    public const string TargetPattern = @"^\s*(?:>=|<=|==|>|<)\s*\S";

    /// <summary>settings.auth.</summary>
    public static readonly IReadOnlyList<KeySpec> Auth =
    [
        new("bearerToken", KeyType.Text, "a token clients send as `Authorization: Bearer TOKEN` (Prometheus: `authorization: { credentials_file: ... }`); must not be empty; `bearerTokenFile`: a file holding it (see **Secrets**)")
        {
            Secret = true, Default = "—", Sample = "roadmap-token",
        },
        new("basicAuthUsers", KeyType.Map, "`{ NAME: BCRYPT-HASH }`, as Prometheus exporter-toolkit's `basic_auth_users`; hashes `$2a$`, `$2b$` or `$2y$` with a cost from 04 to 31; a name must not contain `:`")
        {
            Default = "—", Sample = "{ grafana: $2y$10$AIy5R3cUsP/lJ2dzCWEvLOrrvCmyzVRGQyZKNwSGLfgpjQGDfXMxG }",
        },
    ];

    /// <summary>settings.network.</summary>
    public static readonly IReadOnlyList<KeySpec> Network =
    [
        new("deny", KeyType.TextList, "CIDRs no source connects to (a bare address is a `/32` or `/128`); setting `deny` **replaces** the default list, `deny: []` turns it off")
        {
            Default = "`[169.254.0.0/16, fe80::/10, fd00:ec2::254/128]`", Sample = "[169.254.0.0/16]",
        },
        new("allow", KeyType.TextList, "CIDRs reachable even where a `deny` entry covers them, e.g. `[169.254.169.254/32]` for a source that must read the metadata service") { Default = "`[]`", Sample = "[169.254.169.254/32]" },
        new("maxRedirects", KeyType.WholeNumber, "redirects followed per request; `0` follows none")
        {
            Default = $"`{NetworkSettings.DefaultMaxRedirects}`", Min = 0, Max = NetworkSettings.MaxRedirectsLimit, Sample = "5",
        },
    ];

    /// <summary>settings.retention.</summary>
    public static readonly IReadOnlyList<KeySpec> Retention =
    [
        new("raw", KeyType.Duration, "how long raw samples and poll records are kept; must not exceed `retention.rollups`") { Default = "`35d`", Sample = "35d" },
        new("rollups", KeyType.Duration, "how long the hour and day rollups are kept; windows older than `retention.raw` are answered from them") { Default = "`400d`", Sample = "400d" },
    ];

    /// <summary>settings.storage.</summary>
    public static readonly IReadOnlyList<KeySpec> Storage =
    [
        new("kind", KeyType.Enum, "where samples, polls, rollups and evaluations are stored: `sqlite` (one embedded file, `--database`) or `postgres`; changing it needs a restart")
        {
            Default = "`sqlite`", Allowed = [StorageConfig.Sqlite, StorageConfig.Postgres], ValueName = "storage kind", Sample = "sqlite",
        },
        new("connectionString", KeyType.Text, "for `postgres`: a connection string in keyword form (`Host=...;Database=...;Username=...;Password=...`), best as `${VAR}`; `connectionStringFile`: a file holding it (see **Secrets**); never logged")
        {
            Secret = true, Default = "—", Sample = "\"${ROADMAP_PG}\"",
        },
        new("flushEvery", KeyType.Duration, "how often the polls waiting in memory are committed, in one transaction (from `100ms` to `60s`): each commit writes the newest page of every source it touches, so a longer interval writes less to disk and costs less CPU, for polls visible to evaluation that much later, up to that much lost in a crash, and the waiting samples held in memory; changing it needs a restart")
        {
            Default = "`500ms`", Sample = "500ms",
        },
    ];

    /// <summary>settings.cluster.</summary>
    public static readonly IReadOnlyList<KeySpec> Cluster =
    [
        new("enabled", KeyType.Boolean, "run as one of several replicas sharing the sources through Quartz clustering on the same PostgreSQL (`storage.kind: postgres`); each replica needs its own `--instance-id`; changing it needs a restart")
        {
            Default = "`false`", Sample = "true",
        },
        new("shards", KeyType.WholeNumber, "how many shards the sources are hashed into; the shard is the unit a replica holds and hands over")
        {
            Default = $"`{ClusterConfig.DefaultShards}`", Min = 1, Max = ClusterConfig.MaxShards, Sample = "128",
        },
        new("window", KeyType.Duration, "how long a replica holds a shard once it has claimed it (its window), and how often each shard is claimed again; from `2s` to `1m` (a graceful stop polls its windows to their end, so it takes up to two windows)") { Default = "`5s`", Sample = "5s" },
        new("checkinInterval", KeyType.Duration, "how often each replica tells the cluster it is alive") { Default = "`2s`", Sample = "2s" },
        new("failoverAfter", KeyType.Duration, "how long past a missed check-in a silent replica is declared failed by Quartz; a replica whose heartbeat is older than `checkinInterval` + half of this gets no new window; at least twice `checkinInterval`; raise it above the longest pause (GC, VM migration) a replica may see") { Default = "`6s`", Sample = "6s" },
    ];

    /// <summary>settings.</summary>
    public static readonly IReadOnlyList<KeySpec> Settings =
    [
        new("evaluateEvery", KeyType.Duration, "how often every KPI is re-judged") { Default = "`15s`", Sample = "15s" },
        new("timezone", KeyType.Text, "IANA name; for calendar windows, deadlines and quarter timelines") { Default = "`UTC`", Sample = "UTC" },
        new("auth", KeyType.Mapping, "credentials for `/metrics`, `/api/*` and the board `/`; see `settings.auth`") { Default = "none (open)", Keys = Auth },
        new("network", KeyType.Mapping, "where sources may connect, and how many redirects they follow") { Default = "see `settings.network`", Keys = Network },
        new("retention", KeyType.Mapping, "how long samples and rollups are kept") { Keys = Retention },
        new("storage", KeyType.Mapping, "the storage backend: the embedded SQLite file (the default) or PostgreSQL") { Default = "`{ kind: sqlite }`", Keys = Storage },
        new("cluster", KeyType.Mapping, "several replicas sharing the sources (see docs/SCALING.md)") { Default = "`{ enabled: false }`", Keys = Cluster },
        new("updates", KeyType.MappingList, "scheduled updates to stakeholders: what changed, and the current table, to a webhook or a file") { Default = "`[]`", Keys = UpdatesConfig.Keys },
    ];

    /// <summary>roadmap.goals items.</summary>
    public static readonly IReadOnlyList<KeySpec> Goal =
    [
        new("id", KeyType.Id, "referenced by an initiative's `goal`") { Required = true, Pattern = IdPattern, Sample = "speed" },
        new("title", KeyType.Text, "the goal") { Required = true },
    ];

    /// <summary>roadmap.</summary>
    public static readonly IReadOnlyList<KeySpec> Roadmap =
    [
        new("name", KeyType.Text, "the roadmap's name") { Required = true },
        new("vision", KeyType.Text, "why the roadmap exists"),
        new("goals", KeyType.MappingList, "list of `{ id, title }`; an initiative's `goal` names one") { Keys = Goal },
    ];

    /// <summary>The keys every source has, whatever its kind.</summary>
    public static readonly IReadOnlyList<KeySpec> SourceCommon =
    [
        new("id", KeyType.Id, "referenced by KPIs; a label value in metrics") { Required = true, Pattern = IdPattern, Sample = "shop" },
        new("kind", KeyType.Enum, "the source kind: one of those below (`http`, `sql`, ...)") { Required = true },
        new("every", KeyType.Duration, "poll interval; ticks fall on a fixed grid (multiples of the interval from the Unix epoch, each source offset by up to a second), the same on every replica and across restarts; a single process also polls once right after start") { Default = "`15s`", Sample = "15s" },
        new("cron", KeyType.Text, "instead of `every`: a Quartz cron expression (`sec min hour day month weekday [year]`, e.g. `\"0 0/5 * * * ?\"`), in `settings.timezone`")
        {
            Default = "—", Sample = "\"0 0/5 * * * ?\"",
        },
        new("timeout", KeyType.Duration, "per poll; must be shorter than `every`") { Default = "`5s`, or 80% of a shorter `every`", Sample = "5s" },
    ];

    /// <summary>initiatives.timeline as a mapping.</summary>
    public static readonly IReadOnlyList<KeySpec> Timeline =
    [
        new("start", KeyType.Date, "first day") { Required = true, Pattern = DatePattern, Sample = "2027-01-01" },
        new("due", KeyType.Date, "last day") { Required = true, Pattern = DatePattern, Sample = "2027-03-31" },
    ];

    /// <summary>initiatives.risks items.</summary>
    public static readonly IReadOnlyList<KeySpec> Risk =
    [
        new("risk", KeyType.Text, "what could go wrong") { Required = true },
        new("mitigation", KeyType.Text, "what is done about it"),
    ];

    /// <summary>kpis.baseline as a mapping: a past period.</summary>
    public static readonly IReadOnlyList<KeySpec> BaselinePeriod =
    [
        new("from", KeyType.Date, "first day, inclusive") { Required = true, Pattern = DatePattern, Sample = "2026-01-01" },
        new("to", KeyType.Date, "last day, inclusive") { Required = true, Pattern = DatePattern, Sample = "2026-01-31" },
    ];

    /// <summary>The KPIs of an initiative.</summary>
    public static readonly IReadOnlyList<KeySpec> Kpi =
    [
        new("id", KeyType.Id, "unique within the initiative") { Required = true, Pattern = IdPattern, Sample = "uptime" },
        new("name", KeyType.Text, "display name") { Default = "the id" },
        new("source", KeyType.Text, "a source id") { Required = true },
        new("signal", KeyType.Text, "a signal the source emits") { Default = "the source's only signal, if it has one" },
        new("aggregate", KeyType.Enum, "how the window's samples become one value")
        {
            Default = "`avg`", Allowed = [.. Enum.GetValues<Aggregate>().Select(AggregateNames.Name)], ValueName = "aggregate", Sample = "avg",
        },
        new("numerator", KeyType.Text, "for `ratio` only, instead of `signal`: the signal summed on top, sum(numerator) / sum(denominator signals) over the window"),
        new("denominator", KeyType.TextList, "for `ratio` only: the signals summed below"),
        new("window", KeyType.Text, "a rolling duration (`30d` = the 30 days before now) or a calendar period so far: `day`, `week` (from Monday), `month`, `quarter`")
        {
            Required = true, Pattern = @"^\s*(?:[0-9.]+\s*(?:ms|s|m|h|d|w)\s*)+$|^\s*(?:[Dd][Aa][Yy]|[Ww][Ee][Ee][Kk]|[Mm][Oo][Nn][Tt][Hh]|[Qq][Uu][Aa][Rr][Tt][Ee][Rr])\s*$",
            Sample = "30d",
        },
        new("target", KeyType.Text, "`\"OP NUMBER\"` or `\"OP NUMBER%\"` (percent / 100), OP one of `>= > <= < ==`; `\"OP DURATION\"` (`\">= 14d\"`) for a value in seconds; or relative: `\"OP baseline - 20%\"`, `\"OP baseline + 5\"`")
        {
            Required = true, Pattern = TargetPattern, Sample = "\">= 99%\"",
        },
        new("baseline", KeyType.TextOrMapping, "for a relative target: a number, or a past period `{ from: DATE, to: DATE }` (both days inclusive) whose value is the KPI's own aggregate over it")
        {
            Keys = BaselinePeriod, Pattern = @"^\s*[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?\s*$", Sample = "0.5",
        },
        new("deadline", KeyType.Text, "a date, or `due` (the initiative's due date); without one the KPI must hold at all times")
        {
            Pattern = @"^\s*(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|due)\s*$", Sample = "2027-06-30",
        },
        new("unit", KeyType.Text, "display only: `ratio`, `seconds`, `count`, `percent`, ... (`ratio` also tells `validate` the value lies between 0 and 1)") { Sample = "ratio" },
    ];

    /// <summary>The initiatives.</summary>
    public static readonly IReadOnlyList<KeySpec> Initiative =
    [
        new("id", KeyType.Id, "unique among initiatives") { Required = true, Pattern = IdPattern, Sample = "speed-up" },
        new("name", KeyType.Text, "display name") { Required = true },
        new("goal", KeyType.Text, "a `roadmap.goals` id"),
        new("timeline", KeyType.TextOrMapping, "a quarter (`2027-Q1`) or `{ start: DATE, due: DATE }`") { Keys = Timeline, Pattern = QuarterPattern, Sample = "2027-Q1" },
        new("status", KeyType.Enum, "the declared status") { Default = "`planned`", Allowed = ["planned", "in-progress", "done", "cancelled"], Sample = "planned" },
        new("owner", KeyType.Text, "who owns it"),
        new("details", KeyType.Text, "the technical details"),
        new("dependsOn", KeyType.TextList, "initiative ids; unknown ids and cycles are errors") { Default = "`[]`", Sample = "[]" },
        new("risks", KeyType.MappingList, "list of `{ risk, mitigation }`") { Default = "`[]`", Keys = Risk },
        new("kpis", KeyType.MappingList, "the KPIs that say whether it worked") { Default = "`[]`", Keys = Kpi },
    ];

    /// <summary>The sections of the file; <c>sources</c> is filled in per kind by <see cref="Build"/>.</summary>
    public static readonly IReadOnlyList<KeySpec> TopLevel =
    [
        new("roadmap", KeyType.Mapping, "the vision and the goals") { Required = true, Keys = Roadmap },
        new("settings", KeyType.Mapping, "evaluation, time zone, auth, network, retention, storage, updates") { Keys = Settings },
        new("sources", KeyType.MappingList, "where KPI values come from; each entry's keys depend on its `kind`") { Keys = SourceCommon },
        new("initiatives", KeyType.MappingList, "the work, with its KPIs") { Keys = Initiative },
    ];

    /// <summary>The JSON Schema of the config, with one branch per source kind (selected by <c>kind</c>).</summary>
    public static JsonObject Build(IEnumerable<ISourceKindSpec> kinds)
    {
        var kindList = kinds.OrderBy(k => k.Kind, StringComparer.Ordinal).ToList();
        var root = new JsonObject
        {
            ["$schema"] = Draft,
            ["$id"] = "https://roadmap.invalid/roadmap.schema.json",
            ["title"] = "Roadmap config",
            ["description"] = "config/roadmap.yaml: generated from the key declarations (Roadmap.Core.Config.ConfigSchema and each source kind's Keys) by `Roadmap.Worker schema`; do not edit by hand.",
        };
        var top = Object(TopLevel);
        var sources = (JsonObject)((JsonObject)top["properties"]!)["sources"]!;
        var item = (JsonObject)sources["items"]!;
        ((JsonObject)((JsonObject)item["properties"]!)["kind"]!)["enum"] = new JsonArray([.. kindList.Select(k => (JsonNode)JsonValue.Create(k.Kind))]);

        // The common keys are allowed by every branch; each branch adds its kind's keys and closes the mapping.
        item.Remove("additionalProperties");
        var branches = new JsonArray();
        foreach (var kind in kindList)
        {
            var own = Object([.. SourceCommon, .. kind.Keys]);
            own.Remove("type");
            own.Remove("required");
            var ownRequired = new JsonArray([.. Required(kind.Keys).Select(n => (JsonNode)JsonValue.Create(n))]);
            if (ownRequired.Count > 0)
            {
                own["required"] = ownRequired;
            }

            // Added as a JsonNode: JsonArray.Add<T> (what an object argument binds to) needs runtime code the native build lacks.
            branches.Add((JsonNode)new JsonObject
            {
                ["if"] = new JsonObject
                {
                    ["properties"] = new JsonObject { ["kind"] = new JsonObject { ["const"] = kind.Kind } },
                    ["required"] = new JsonArray("kind"),
                },
                ["then"] = own,
            });
        }

        item["allOf"] = branches;
        foreach (var (name, value) in top.ToList())
        {
            top.Remove(name);
            root[name] = value;
        }

        return root;
    }

    /// <summary>The schema as committed: indented, with a final newline.</summary>
    public static string ToJson(IEnumerable<ISourceKindSpec> kinds)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Build(kinds).WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    /// <summary>README's table of <paramref name="keys"/>: key, default (or "required"), description.</summary>
    public static string Markdown(IReadOnlyList<KeySpec> keys)
    {
        var text = new StringBuilder("| key | default | |\n|---|---|---|\n");
        foreach (var key in Flatten(keys, ""))
        {
            var name = key.Secret ? $"`{key.Name}` (or `{key.Name}File`)" : $"`{key.Name}`";
            var fallback = key.Required ? "required" : key.Default ?? "—";
            var allowed = key.Type == KeyType.Enum && key.Allowed is { } a && key.Name != "kind" ? $" ({string.Join(", ", a.Select(v => $"`{v}`"))})" : "";
            var range = key.Type == KeyType.WholeNumber ? $" ({key.Min} to {key.Max})" : "";
            text.Append(CultureInvariant($"| {name} | {fallback} | {key.Description}{allowed}{range} |\n"));
        }

        return text.ToString();
    }

    // A nested mapping's keys as rows of their own (expect.status), as README writes them; not a shared block's (tls).
    private static IEnumerable<KeySpec> Flatten(IReadOnlyList<KeySpec> keys, string prefix) =>
        keys.SelectMany(k => k.Type == KeyType.Mapping && k.Keys is { } nested && !k.OwnTable
            ? Flatten(nested, $"{prefix}{k.Name}.")
            : [k with { Name = prefix + k.Name }]);

    /// <summary>
    /// A YAML flow mapping holding every key of <paramref name="keys"/> with its <see cref="KeySpec.Sample"/> (nested
    /// mappings and lists of mappings filled in the same way; a secret by its value key): a config that uses every key.
    /// </summary>
    public static string SampleYaml(IReadOnlyList<KeySpec> keys) =>
        "{ " + string.Join(", ", keys.Select(k => $"{k.Name}: {SampleValue(k)}")) + " }";

    private static string SampleValue(KeySpec key) => key.Type switch
    {
        KeyType.Mapping => SampleYaml(key.Keys ?? []),
        KeyType.MappingList => $"[ {SampleYaml(key.Keys ?? [])} ]",
        _ => key.Sample,
    };

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);

    private static IEnumerable<string> Required(IEnumerable<KeySpec> keys) => keys.Where(k => k.Required).Select(k => k.Name);

    private static JsonObject Object(IReadOnlyList<KeySpec> keys)
    {
        var properties = new JsonObject();
        foreach (var key in keys)
        {
            properties[key.Name] = Value(key);
            if (key.Secret)
            {
                properties[key.Name + "File"] = new JsonObject
                {
                    ["type"] = "string",
                    ["description"] = $"instead of {key.Name}: the path of a file holding it (one line; one trailing newline is dropped)",
                };
            }
        }

        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["additionalProperties"] = false };
        var required = Required(keys).ToList();
        if (required.Count > 0)
        {
            schema["required"] = new JsonArray([.. required.Select(n => (JsonNode)JsonValue.Create(n))]);
        }

        return schema;
    }

    private static JsonObject Value(KeySpec key)
    {
        var schema = key.Type switch
        {
            KeyType.Text when key.Pattern is null => new JsonObject { ["type"] = new JsonArray("string", "number", "boolean") },
            KeyType.Text or KeyType.Id or KeyType.Date => Scalar(key.Pattern ?? (key.Type == KeyType.Date ? DatePattern : IdPattern)),
            KeyType.Duration => Scalar(DurationPattern),
            KeyType.Url => Scalar(UrlPattern),
            KeyType.WholeNumber => new JsonObject { ["type"] = "integer", ["minimum"] = key.Min, ["maximum"] = key.Max },
            KeyType.Boolean => new JsonObject { ["type"] = "boolean" },
            KeyType.Enum => key.Allowed is { } allowed
                ? new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. allowed.Select(v => (JsonNode)JsonValue.Create(v))]) }
                : new JsonObject { ["type"] = "string" },
            KeyType.TextList => new JsonObject
            {
                ["type"] = new JsonArray("array", "string"),
                ["items"] = new JsonObject { ["type"] = new JsonArray("string", "number") },
            },
            KeyType.Map => new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = new JsonObject { ["type"] = new JsonArray("string", "number", "boolean") },
            },
            KeyType.Mapping => Object(key.Keys ?? []),
            KeyType.MappingList => new JsonObject { ["type"] = "array", ["items"] = Object(key.Keys ?? []) },
            KeyType.TextOrMapping => new JsonObject { ["anyOf"] = new JsonArray(Scalar(key.Pattern ?? ".*"), Object(key.Keys ?? [])) },
            KeyType.BooleanOrMapping => new JsonObject { ["anyOf"] = new JsonArray(new JsonObject { ["type"] = "boolean" }, Object(key.Keys ?? [])) },
            _ => throw new ArgumentOutOfRangeException(nameof(key), key.Type, "unknown key type"),
        };
        schema["description"] = key.Default is { } d && !key.Required ? $"{Plain(key.Description)} (default: {Plain(d)})" : Plain(key.Description);
        return schema;
    }

    // A single value matching the pattern, or holding a ${VAR} (checked once expanded, by the loader).
    private static JsonObject Scalar(string pattern) => new()
    {
        ["type"] = new JsonArray("string", "number"),
        ["pattern"] = $"{pattern}|{Variable}",
    };

    private static string Plain(string markdown) => markdown.Replace("`", "", StringComparison.Ordinal);
}
