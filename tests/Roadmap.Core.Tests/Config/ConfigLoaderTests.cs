using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public class ConfigLoaderTests
{
    private const string File = "test.yaml";

    private static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal)
    {
        ["SHOP_HOST"] = "10.0.0.5",
    };

    private static ConfigLoadResult Load(string yaml) =>
        new ConfigLoader([new FakeSourceKindSpec()], name => Environment.GetValueOrDefault(name)).Load(yaml, File);

    private static List<string> Errors(string yaml) => Load(yaml).Errors.Select(e => e.ToString()).ToList();

    private const string Valid = """
        roadmap:
          name: E-commerce platform
          vision: Handles high traffic volumes.
          goals:
            - id: scalability
              title: Increase platform scalability by 30%
        sources:
          - id: storefront
            kind: fake
            url: http://127.0.0.1:8080/healthz
          - id: api
            kind: fake
            cron: "0 0/5 * * * ?"
            timeout: 10s
            url: https://api.example.com/
        initiatives:
          - id: cloud-migration
            name: Migrate to a new cloud provider
            goal: scalability
            timeline: 2027-Q1
            status: in-progress
            owner: platform-team
            details: Move from on-premise servers to EC2, S3 and RDS.
            dependsOn: [db-tuning]
            risks:
              - risk: Data migration issues, service downtime
                mitigation: Detailed migration plan, rollback strategy
            kpis:
              - id: uptime
                name: System uptime
                source: storefront
                signal: up
                window: 30d
                target: ">= 99.9%"
                unit: ratio
              - id: page-load-p95
                source: api
                signal: latency_seconds
                aggregate: p95
                window: quarter
                target: "<= baseline - 20%"
                baseline: { from: 2026-10-01, to: 2026-10-31 }
                deadline: due
          - id: db-tuning
            name: Optimize database performance
            timeline: { start: 2026-11-01, due: 2026-12-31 }
            status: done
            kpis:
              - id: query-time
                source: api
                signal: latency_seconds
                window: 1h
                target: "<= baseline - 10%"
                baseline: 0.2
                deadline: 2026-12-31
        """;

    [Fact]
    public void Load_ValidConfig_BuildsModel()
    {
        var result = Load(Valid);

        Assert.Empty(result.Errors);
        Assert.True(result.IsValid);
        var config = result.Config!;
        Assert.Equal(File, config.File);
        Assert.Equal("E-commerce platform", config.Roadmap.Name);
        Assert.Equal("Handles high traffic volumes.", config.Roadmap.Vision);
        Assert.Equal([new GoalConfig("scalability", "Increase platform scalability by 30%")], config.Roadmap.Goals);

        Assert.Equal(["storefront", "api"], config.Sources.Select(s => s.Id));
        var storefront = config.FindSource("storefront")!;
        Assert.Equal("fake", storefront.Kind);
        Assert.Equal(new FakeSourceOptions(new Uri("http://127.0.0.1:8080/healthz")), storefront.Options);
        Assert.Equal(["up", "latency_seconds"], storefront.Signals);
        var api = config.FindSource("api")!;
        Assert.Null(api.Schedule.Every);
        Assert.Equal("0 0/5 * * * ?", api.Schedule.Cron);
        Assert.Equal(TimeSpan.FromSeconds(10), api.Timeout);

        Assert.Equal(["cloud-migration", "db-tuning"], config.Initiatives.Select(i => i.Id));
        var cloud = config.FindInitiative("cloud-migration")!;
        Assert.Equal("Migrate to a new cloud provider", cloud.Name);
        Assert.Equal("scalability", cloud.Goal);
        Assert.Equal(new Timeline(new DateOnly(2027, 1, 1), new DateOnly(2027, 3, 31), "2027-Q1"), cloud.Timeline);
        Assert.Equal(DeclaredStatus.InProgress, cloud.Status);
        Assert.Equal("platform-team", cloud.Owner);
        Assert.Equal("Move from on-premise servers to EC2, S3 and RDS.", cloud.Details);
        Assert.Equal(["db-tuning"], cloud.DependsOn);
        Assert.Equal([new RiskConfig("Data migration issues, service downtime", "Detailed migration plan, rollback strategy")], cloud.Risks);

        Assert.Equal(["uptime", "page-load-p95"], cloud.Kpis.Select(k => k.Id));
        var uptime = cloud.Kpis[0];
        Assert.Equal("System uptime", uptime.Name);
        Assert.Equal("storefront", uptime.Source);
        Assert.Equal("up", uptime.Signal);
        Assert.Empty(uptime.Denominator);
        Assert.Equal(Window.OfDuration(TimeSpan.FromDays(30)), uptime.Window);
        Assert.Equal(Comparison.GreaterOrEqual, uptime.Target.Op);
        Assert.Equal(0.999, uptime.Target.Value!.Value, 1e-12);
        Assert.Null(uptime.Baseline);
        Assert.Null(uptime.Deadline);
        Assert.Equal("ratio", uptime.Unit);

        var pageLoad = cloud.Kpis[1];
        Assert.Equal("page-load-p95", pageLoad.Name);
        Assert.Equal(Aggregate.P95, pageLoad.Aggregate);
        Assert.Equal(Window.OfCalendar(CalendarPeriod.Quarter), pageLoad.Window);
        Assert.True(pageLoad.Target.IsRelative);
        Assert.Equal(new Baseline(null, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31)), pageLoad.Baseline);
        Assert.Equal(new DateOnly(2027, 3, 31), pageLoad.Deadline);

        var db = config.FindInitiative("db-tuning")!;
        Assert.Equal(new Timeline(new DateOnly(2026, 11, 1), new DateOnly(2026, 12, 31), "2026-11-01..2026-12-31"), db.Timeline);
        Assert.Equal(DeclaredStatus.Done, db.Status);
        Assert.Empty(db.DependsOn);
        Assert.Empty(db.Risks);
        var queryTime = Assert.Single(db.Kpis);
        Assert.Equal(new Baseline(0.2, null, null), queryTime.Baseline);
        Assert.Equal(new DateOnly(2026, 12, 31), queryTime.Deadline);
    }

    [Fact]
    public void Load_OptionalKeysOmitted_AppliesDefaults()
    {
        var config = Load(Valid).Config!;

        Assert.Equal(TimeSpan.FromSeconds(15), config.Settings.EvaluateEvery);
        Assert.Equal(TimeZoneInfo.Utc, config.Settings.TimeZone);
        var storefront = config.FindSource("storefront")!;
        Assert.Equal(TimeSpan.FromSeconds(15), storefront.Schedule.Every);
        Assert.Null(storefront.Schedule.Cron);
        Assert.Equal(TimeSpan.FromSeconds(5), storefront.Timeout);
        Assert.Equal(Aggregate.Avg, config.Initiatives[0].Kpis[0].Aggregate);
        Assert.Equal(Aggregate.Avg, config.Initiatives[1].Kpis[0].Aggregate);
    }

    [Fact]
    public void Load_SignalOmittedForSourceWithSeveralSignals_IsRequired()
    {
        var (yaml, at) = ConfigPatch.Marked(Minimal.Remove("signal: up").Patch("- id: uptime", "- ^id: uptime"));

        Assert.Equal([$"test.yaml:{at}: initiatives[a].kpis[uptime]: missing required key \"signal\""], Errors(yaml));
    }

    [Fact]
    public void Load_Settings_ReadsEvaluateEveryAndTimeZone()
    {
        var config = Load("""
            roadmap:
              name: Shop
            settings:
              evaluateEvery: 1m
              timezone: Europe/Berlin
            """).Config!;

        Assert.Equal(TimeSpan.FromMinutes(1), config.Settings.EvaluateEvery);
        Assert.Equal("Europe/Berlin", config.Settings.TimeZone.Id);
    }

    [Fact]
    public void Load_SetVariable_IsExpanded()
    {
        var result = Load("""
            roadmap:
              name: Shop
            sources:
              - id: web
                kind: fake
                url: http://${SHOP_HOST}:8080/healthz
            """);

        Assert.Empty(result.Errors);
        Assert.Equal(new FakeSourceOptions(new Uri("http://10.0.0.5:8080/healthz")), result.Config!.Sources[0].Options);
    }

    private const string Minimal = ConfigPatch.Minimal;

    private const string ExpectedDuration = "expected a number and a unit (ms, s, m, h, d, w), e.g. 15s or 1h30m";

    /// <summary>
    /// Each patch of <see cref="ConfigPatch.Minimal"/> makes exactly one error, at the marker (1-based line:column of the
    /// offending key or value).
    /// </summary>
    public static TheoryData<string, string> SingleErrors => new()
    {
        { Minimal.Append("^colour: blue"), "colour: unknown key \"colour\" (known keys here: initiatives, roadmap, settings, sources)" },
        // Written out: a line indented less than its neighbour is the error, which Patch (same indent) cannot write.
        { Minimal.Replace("  name: Shop\n", "  name: Shop\n ^vision: x\n", StringComparison.Ordinal), "YAML syntax error: \"vision\" is indented 1 space, less than \"name\" on line 2 (2) and in line with no key above: keys of one mapping start in the same column; indent it 2 spaces to sit beside \"name\"" },
        { Minimal.Remove("roadmap:").Remove("name: Shop").Patch("sources:", "^sources:"), "(top level): missing required key \"roadmap\"" },
        { Minimal.Insert("url: http://127.0.0.1/", "^colour: blue"), "sources[web].colour: unknown key \"colour\" (known keys here: cron, every, id, kind, timeout, url)" },
        {
            Minimal.Patch("initiatives:", "  - id: ^web\n    kind: fake\n    url: http://127.0.0.2/\ninitiatives:"),
            "sources[web].id: duplicate id \"web\" (first defined at line 4)"
        },
        { Minimal.Patch("kind: fake", "kind: ^ftp"), "sources[web].kind: unknown source kind \"ftp\": expected one of fake" },
        { Minimal.Remove("url: http://127.0.0.1/").Patch("- id: web", "- ^id: web"), "sources[web]: missing required key \"url\"" },
        { Minimal.Insert("kind: fake", "every: ^fast"), $"sources[web].every: bad duration \"fast\": {ExpectedDuration}" },
        {
            Minimal.Insert("kind: fake", "cron: ^\"0 0 25 * * ?\""),
            "sources[web].cron: bad cron expression \"0 0 25 * * ?\": Hour values must be between 0 and 23 (Quartz syntax: sec min hour day-of-month month day-of-week [year], e.g. \"0 0/5 * * * ?\")"
        },
        { Minimal.Insert("kind: fake", "every: 15s\ncron: ^\"0 0/5 * * * ?\""), "sources[web].cron: set either every or cron, not both" },
        { Minimal.Insert("kind: fake", "every: 10s\ntimeout: ^10s"), "sources[web].timeout: timeout 10s must be shorter than the poll interval 10s" },
        { Minimal.Insert("kind: fake", "every: 15s\ntimeout: ^1m"), "sources[web].timeout: timeout 1m must be shorter than the poll interval 15s" },
        {
            Minimal.Patch("url: http://127.0.0.1/", "url: ^ftp://example.com/"),
            "sources[web].url: bad URL \"ftp://example.com/\": expected an absolute http:// or https:// URL"
        },
        { Minimal.Patch("url: http://127.0.0.1/", "url: ^http://${UNSET_HOST}:8080/"), "sources[web].url: environment variable UNSET_HOST is not set" },
        { Minimal.Insert("name: A", "dependsOn: [^zzz]"), "initiatives[a].dependsOn: unknown initiative \"zzz\" (known initiatives: a)" },
        {
            Minimal.Insert("name: A", "dependsOn: [b]").Append("  - id: b\n    name: B\n    dependsOn: [c]\n  - id: c\n    name: C\n    dependsOn: [^a]"),
            "initiatives[c].dependsOn: dependency cycle a -> b -> c -> a"
        },
        {
            Minimal.Insert("name: A", "timeline: ^2027-Q5"),
            "initiatives[a].timeline: bad quarter \"2027-Q5\": expected a quarter as YYYY-Qn (n from 1 to 4), or { start: YYYY-MM-DD, due: YYYY-MM-DD }"
        },
        {
            Minimal.Insert("name: A", "timeline: { start: ^2027-13-01, due: 2027-12-31 }"),
            "initiatives[a].timeline.start: bad date \"2027-13-01\": expected a date as YYYY-MM-DD, from 1900-01-01 to 9998-12-31"
        },
        { Minimal.Patch("source: web", "source: ^db"), "initiatives[a].kpis[uptime].source: unknown source \"db\" (known sources: web)" },
        {
            Minimal.Patch("signal: up", "signal: ^hits"),
            "initiatives[a].kpis[uptime].signal: source \"web\" (kind fake) does not emit signal \"hits\"; it emits up, latency_seconds"
        },
        {
            Minimal.Patch("target: \">= 0.99\"", "target: ^\">= abc\""),
            "initiatives[a].kpis[uptime].target: bad target \">= abc\": expected \"OP NUMBER\", \"OP NUMBER%\" or \"OP baseline +/- N[%]\", OP one of >=, >, <=, <, =="
        },
        {
            Minimal.Insert("target: \">= 0.99\"", "deadline: ^2027-02-30"),
            "initiatives[a].kpis[uptime].deadline: bad date \"2027-02-30\": expected a date as YYYY-MM-DD, from 1900-01-01 to 9998-12-31, or due (the initiative's due date)"
        },
        {
            Minimal.Patch("- id: uptime", "- id: page-load").Patch("signal: up", "signal: latency_seconds").Patch("window: 1h", "window: 1d")
                .Patch("target: \">= 0.99\"", "target: ^\"<= baseline - 20%\""),
            "initiatives[a].kpis[page-load].target: target \"<= baseline - 20%\" is relative to a baseline, but the KPI has no baseline"
        },
        {
            Minimal.Append("settings:\n  timezone: ^Mars/Olympus"),
            "settings.timezone: unknown time zone \"Mars/Olympus\": expected an IANA name such as UTC or Europe/Berlin"
        },
        { Minimal.Insert("name: A", "goal: ^speed"), "initiatives[a].goal: unknown goal \"speed\" (roadmap.goals is empty)" },
        { Minimal.Append("  - id: ^a\n    name: Again"), "initiatives[a].id: duplicate id \"a\" (first defined at line 8)" },
        { Minimal.Insert("name: A", "dependsOn: [^a]"), "initiatives[a].dependsOn: initiative \"a\" depends on itself" },
        {
            Minimal.Insert("signal: up", "aggregate: ^mean"),
            "initiatives[a].kpis[uptime].aggregate: unknown aggregate \"mean\": expected one of avg, min, max, last, sum, count, p50, p90, p95, p99, increase, rate, ratio"
        },
        {
            Minimal.Patch("window: 1h", "window: ^5"),
            "initiatives[a].kpis[uptime].window: bad window \"5\": expected a duration such as 30d or 1h30m (units ms, s, m, h, d, w), or one of day, week, month, quarter"
        },
        {
            Minimal.Insert("target: \">= 0.99\"", "baseline: ^0.5"),
            "initiatives[a].kpis[uptime].baseline: a baseline is only used by a relative target such as \"<= baseline - 20%\", and target is \">= 0.99\""
        },
    };

    [Theory]
    [MemberData(nameof(SingleErrors))]
    public void Load_InvalidConfig_ReportsErrorAtFileLineColumn(string patched, string expected)
    {
        var (yaml, at) = ConfigPatch.Marked(patched);

        var result = Load(yaml);

        Assert.Null(result.Config);
        Assert.False(result.IsValid);
        Assert.Equal([$"test.yaml:{at}: {expected}"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Load_ManyErrors_ReportsEveryErrorAtOnceInFileOrder()
    {
        var errors = Errors("""
            roadmap:
              name: Shop
            colour: blue
            sources:
              - id: web
                kind: fake
                every: fast
                url: ftp://example.com/
            initiatives:
              - id: a
                name: A
                timeline: 2027-Q5
                dependsOn: [zzz]
                kpis:
                  - id: uptime
                    source: db
                    signal: up
                    window: 1h
                    target: ">= abc"
            """);

        Assert.Equal(
            [
                "test.yaml:3:1: colour: unknown key \"colour\" (known keys here: initiatives, roadmap, settings, sources)",
                $"test.yaml:7:12: sources[web].every: bad duration \"fast\": {ExpectedDuration}",
                "test.yaml:8:10: sources[web].url: bad URL \"ftp://example.com/\": expected an absolute http:// or https:// URL",
                "test.yaml:12:15: initiatives[a].timeline: bad quarter \"2027-Q5\": expected a quarter as YYYY-Qn (n from 1 to 4), or { start: YYYY-MM-DD, due: YYYY-MM-DD }",
                "test.yaml:13:17: initiatives[a].dependsOn: unknown initiative \"zzz\" (known initiatives: a)",
                "test.yaml:16:17: initiatives[a].kpis[uptime].source: unknown source \"db\" (known sources: web)",
                "test.yaml:19:17: initiatives[a].kpis[uptime].target: bad target \">= abc\": expected \"OP NUMBER\", \"OP NUMBER%\" or \"OP baseline +/- N[%]\", OP one of >=, >, <=, <, ==",
            ],
            errors);
    }

    [Fact]
    public void Load_TimelineWithUnsetVariable_ReportsErrorInsteadOfThrowing()
    {
        var (yaml, at) = ConfigPatch.Marked(Minimal.Insert("name: A", "timeline: ^${QUARTER}"));

        Assert.Equal([$"test.yaml:{at}: initiatives[a].timeline: environment variable QUARTER is not set"], Errors(yaml));
    }

    [Fact]
    public void Load_DurationTooLarge_ReportsBadDurationInsteadOfThrowing()
    {
        var (yaml, at) = ConfigPatch.Marked(Minimal.Insert("kind: fake", "every: ^99999999999w"));

        Assert.Equal([$"test.yaml:{at}: sources[web].every: bad duration \"99999999999w\": {ExpectedDuration}"], Errors(yaml));
    }
}
