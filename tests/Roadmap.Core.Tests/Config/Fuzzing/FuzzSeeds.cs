namespace Roadmap.Core.Tests.Config.Fuzzing;

/// <summary>Valid configs the config fuzzers mutate, and where to find the repository's own.</summary>
/// <remarks>This file is compiled into Roadmap.Sources.Tests too (a linked file).</remarks>
internal static class FuzzSeeds
{
    /// <summary>Every source kind, every initiative and KPI key from the README's config reference.</summary>
    public const string RichConfig = """
        roadmap:
          name: Fuzz seed
          vision: Every key the config reference documents.
          goals:
            - id: scalability
              title: Increase platform scalability by 30%
            - id: security
              title: Enhance security
        settings:
          evaluateEvery: 30s
          timezone: Europe/Berlin
        sources:
          - id: storefront
            kind: http
            every: 5s
            timeout: 2s
            url: http://127.0.0.1:${PORT}/healthz
            method: GET
            headers: { Authorization: "Bearer ${TOKEN}", X-Trace: "1" }
            expect: { status: [200, 204], bodyContains: ok }
          - id: orders-db
            kind: sql
            cron: "0 0/5 * * * ?"
            timeout: 10s
            provider: sqlite
            connectionString: Data Source=data/shop.db
            query: SELECT count(*) FROM orders
          - id: pg
            kind: sql
            every: 1m
            provider: postgres
            connectionString: Host=db.example.com;Database=shop;Username=roadmap;Password=${TOKEN}
            query: SELECT 1
          - id: cache
            kind: redis
            every: 30s
            address: "[::1]:6379"
            user: roadmap
            password: ${TOKEN}
            tls: false
          - id: ssh
            kind: tcp
            address: "[::1]:22"
            send: "HELLO\r\n"
            expect: ^SSH-2\.0-
          - id: resolver
            kind: dns
            server: 127.0.0.1:5353
            name: shop.example.com
            type: MX
            expect: { rcode: [NOERROR], answer: '10 mail\..*' }
          - id: rum
            kind: prometheus
            every: 1m
            url: http://127.0.0.1:9090/prefix?dedup=true
            query: histogram_quantile(0.95, sum by (le) (rate(page_load_seconds_bucket[5m])))
            headers:
              Authorization: Bearer ${TOKEN}
          - id: analytics
            kind: json
            every: 5m
            url: https://analytics.example.com/api/v1/stats?site=shop
            method: POST
            signals:
              bounce_rate: $.sessions.bounceRate
              first: $.items[0]['the name']
              last: $["items"][-1]
          - id: security-incidents
            kind: github
            every: 10m
            repository: acme/shop
            query: is:issue is:open label:security-incident -repo:acme/other
            token: ${TOKEN}
            apiUrl: https://github.example.com/api/v3
          - id: migration-blockers
            kind: gitlab
            every: 10m
            url: https://gitlab.example.com
            project: platform/cloud-migration
            labels: [blocker, "priority::high"]
            state: opened
            token: ${TOKEN}
          - id: audit-findings
            kind: jira
            every: 15m
            url: https://acme.atlassian.net
            jql: project = SEC AND labels = audit-finding AND statusCategory != Done
            edition: cloud
            email: roadmap@acme.example
            token: ${TOKEN}
          - id: audit-dc
            kind: jira
            every: 15m
            url: https://jira.example.com/jira
            jql: project = SEC
            edition: datacenter
            token: ${TOKEN}
        initiatives:
          - id: cloud-migration
            name: Migrate to a new cloud provider
            goal: scalability
            timeline: 2026-Q4
            status: in-progress
            owner: platform-team
            details: >-
              Move from the on-premise servers to the cloud.
            dependsOn: []
            risks:
              - risk: Data migration issues
                mitigation: A rehearsed plan
              - risk: Downtime
            kpis:
              - id: uptime
                name: System uptime
                source: storefront
                signal: up
                aggregate: avg
                window: 30d
                target: ">= 99.9%"
                unit: ratio
              - id: latency
                source: storefront
                signal: latency_seconds
                aggregate: p95
                window: 1h30m
                target: "<= 0.3"
                deadline: due
              - id: blockers
                source: migration-blockers
                aggregate: last
                window: day
                target: "== 0"
                deadline: 2027-03-31
          - id: database-performance
            name: Optimize database performance
            goal: scalability
            timeline: { start: 2027-01-01, due: 2027-06-30 }
            status: planned
            dependsOn: [cloud-migration]
            kpis:
              - id: query-time
                source: orders-db
                signal: duration_seconds
                aggregate: p99
                window: week
                target: "<= baseline - 20%"
                baseline: { from: 2026-10-01, to: 2026-10-31 }
                deadline: due
              - id: hit-ratio
                source: cache
                aggregate: ratio
                numerator: hits
                denominator: [hits, misses]
                window: month
                target: ">= 0.9"
              - id: page-load
                source: rum
                aggregate: max
                window: quarter
                target: "< baseline + 5"
                baseline: 2.4
              - id: pg-value
                source: pg
                signal: value
                aggregate: last
                window: 2w
                target: "> -1.5e3"
          - id: enhanced-security
            name: Implement enhanced security
            goal: security
            timeline: Q2 2027
            status: done
            dependsOn: [database-performance, cloud-migration]
            kpis:
              - id: incidents
                source: security-incidents
                signal: count
                aggregate: last
                window: 1d
                target: "== 0"
              - id: findings
                source: audit-findings
                aggregate: rate
                window: 7d
                target: "< 1"
              - id: dc-findings
                source: audit-dc
                aggregate: count
                window: 12h
                target: ">= 0"
              - id: bounce
                source: analytics
                signal: bounce_rate
                aggregate: min
                window: 1d
                target: "<= 35%"
              - id: sum-first
                source: analytics
                signal: first
                aggregate: sum
                window: 500ms
                target: ">= .5"
          - id: cancelled-work
            name: Cancelled
            status: cancelled
        """;

    /// <summary>The repository's root (where Roadmap.sln is), found upward from the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Roadmap.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Roadmap.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The shipped config, the rich config, and every invalid config kept as a test case.</summary>
    public static List<string> All()
    {
        var root = RepositoryRoot();
        var seeds = new List<string> { RichConfig, File.ReadAllText(Path.Combine(root, "config", "roadmap.yaml")) };
        var invalid = Path.Combine(root, "tests", "Roadmap.Worker.Tests", "testdata", "invalid");
        seeds.AddRange(Directory.GetFiles(invalid, "*.yaml").Order(StringComparer.Ordinal).Select(File.ReadAllText));
        return seeds;
    }
}
