using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, as an ordered list of steps, in the connection's current schema (the first of its
/// <c>search_path</c>, <c>public</c> by default). A step is applied once and never changed; steps only ever add.
/// Times are unix milliseconds UTC (bigint), as in the SQLite file, so the two hold the same values.
/// </summary>
/// <remarks>
/// <c>roadmap_schema</c> records each applied step and marks the schema as Roadmap's: a schema that holds other tables
/// but no such mark is refused, an empty one is initialised. Opening runs in one transaction under an advisory lock:
/// two processes starting at once migrate once (the second waits, then finds the work done), and a refusal (not
/// Roadmap's, or a version newer than this binary) leaves the database exactly as it was.
/// </remarks>
internal static class PostgresSchema
{
    /// <summary>The marker in <c>roadmap_schema.application</c>.</summary>
    public const string Application = "roadmap";

    /// <summary>Held for the opening transaction; another constant than <see cref="Partitions"/>' lock.</summary>
    private const long MigrateLock = 0x526f61646d617030; // "Roadmap0"

    private static readonly (int Version, string Sql)[] Steps =
    [
        // v1: the tables of SQLite's v5 in one step. Samples and polls are partitioned by UTC day, rollups and
        // evaluations by UTC month (a primary key must hold the partition key); retention drops whole partitions.
        // Polls carry the scheduled time of their tick and the node that ran them, so duplicate and missed ticks can
        // be audited with SQL; (source, ts, node) is unique, so a batch written again after an unacknowledged commit
        // adds nothing.
        (1, """
            CREATE TABLE series (
                id     bigserial PRIMARY KEY,
                source text NOT NULL,
                signal text NOT NULL,
                UNIQUE (source, signal)
            );
            CREATE TABLE samples (
                series_id bigint           NOT NULL,
                ts        bigint           NOT NULL,  -- unix milliseconds UTC
                value     double precision NOT NULL,
                PRIMARY KEY (series_id, ts)
            ) PARTITION BY RANGE (ts);
            CREATE TABLE polls (
                source       text             NOT NULL,
                ts           bigint           NOT NULL,  -- unix milliseconds UTC, when the poll started
                scheduled_ts bigint,                     -- unix milliseconds UTC, the tick it ran for; null: unscheduled
                node         text             NOT NULL,  -- the process that ran it
                duration_ms  double precision NOT NULL,
                outcome      text             NOT NULL CHECK (outcome IN ('success', 'failure')),
                reason       text,
                PRIMARY KEY (source, ts, node)
            ) PARTITION BY RANGE (ts);
            CREATE TABLE rollups_hour (
                series_id   bigint           NOT NULL,
                start_ts    bigint           NOT NULL,  -- unix milliseconds UTC, start of the hour
                count       bigint           NOT NULL,
                sum         double precision NOT NULL,
                min         double precision NOT NULL,
                max         double precision NOT NULL,
                first_ts    bigint           NOT NULL,
                first_value double precision NOT NULL,
                last_ts     bigint           NOT NULL,
                last_value  double precision NOT NULL,
                increase    double precision NOT NULL,  -- counter increase within the bucket (resets handled)
                sketch      bytea            NOT NULL,  -- QuantileSketch.ToBytes
                PRIMARY KEY (series_id, start_ts)
            ) PARTITION BY RANGE (start_ts);
            CREATE TABLE rollups_day (LIKE rollups_hour INCLUDING ALL) PARTITION BY RANGE (start_ts);
            CREATE TABLE evaluations (
                id         bigserial        NOT NULL,  -- the order rows were stored in (IEvaluationStore.Since)
                initiative text             NOT NULL,
                kpi        text             NOT NULL,
                ts         bigint           NOT NULL,  -- unix milliseconds UTC
                value      double precision,           -- null: no data
                target     double precision,
                status     text             NOT NULL,
                rules      integer          NOT NULL DEFAULT 1
            ) PARTITION BY RANGE (ts);
            CREATE INDEX evaluations_by_kpi_ts ON evaluations (initiative, kpi, ts);
            CREATE INDEX evaluations_by_id ON evaluations (id);
            CREATE TABLE baselines (
                initiative  text             NOT NULL,
                kpi         text             NOT NULL,
                from_date   date             NOT NULL,  -- inclusive
                to_date     date             NOT NULL,  -- inclusive
                definition  text             NOT NULL,  -- what was measured: aggregate(source:signal/denominators)
                value       double precision NOT NULL,
                samples     bigint           NOT NULL,
                computed_at bigint           NOT NULL,  -- unix milliseconds UTC
                PRIMARY KEY (initiative, kpi, from_date, to_date, definition)
            );
            CREATE TABLE update_deliveries (
                name     text   NOT NULL,  -- settings.updates[].name
                fire_ts  bigint NOT NULL,  -- unix milliseconds UTC: the scheduled fire this row is for
                ended_ts bigint NOT NULL,  -- unix milliseconds UTC: when it was sent, given up, or first scheduled
                outcome  text   NOT NULL CHECK (outcome IN ('scheduled', 'success', 'failure')),
                attempts bigint NOT NULL,
                blocked  text[],           -- success only: the ids of the initiatives blocked then
                PRIMARY KEY (name, fire_ts)
            );
            """),
        // v2: compact history, as SQLite's v6. A chunk is one series' samples over an hour or a UTC day
        // (Chunks/ChunkCodec), sealed from the samples table (now the hot part) by the writer's compactor; its
        // summary is in the chunk's header. Not partitioned: retention deletes whole chunks, and their space is
        // reused by new ones. The bytes are compressed already, so PostgreSQL is told not to try again (EXTERNAL).
        (2, """
            CREATE TABLE chunks (
                series_id bigint NOT NULL,
                start_ts  bigint NOT NULL,  -- unix milliseconds UTC: the start of the hour or day the chunk covers
                end_ts    bigint NOT NULL,  -- one past its end
                count     bigint NOT NULL,  -- samples in the chunk
                min_ts    bigint NOT NULL,  -- its oldest sample's ts
                max_ts    bigint NOT NULL,  -- its newest sample's ts
                data      bytea  NOT NULL,  -- ChunkCodec
                PRIMARY KEY (series_id, start_ts)
            );
            ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;
            CREATE INDEX chunks_partial ON chunks (start_ts) WHERE end_ts - start_ts < 86400000;
            """),
        // v3: room in the day rollup partitions' pages for the open day's updates (PartitionedTable.DayFillFactor says
        // why), set on the partitions that exist; those created from now on are created with it. Only pages filled
        // from now on follow it: nothing is rewritten, so the step is quick on a large database too.
        (3, StorageParametersSql(PartitionedTable.RollupsDay)),
        // v4: as SQLite's v7, a series' closed-days version (ClosedDaysCache). PostgreSQL adds a column with a
        // constant default without rewriting the table.
        (4, """
            ALTER TABLE series ADD COLUMN IF NOT EXISTS closed_days_version bigint NOT NULL DEFAULT 0;
            """),
    ];

    public static int Latest => Steps[^1].Version;

    /// <summary>
    /// Checks the schema is Roadmap's (or empty), applies the missing steps and creates the partitions due now, all in
    /// one transaction. Returns the schema version.
    /// </summary>
    /// <exception cref="StorageException">Not Roadmap's, newer than this binary, or a statement failed (then nothing
    /// is changed).</exception>
    public static int Apply(NpgsqlConnection c, Partitions partitions, TimeProvider time, string location)
    {
        using var tx = c.BeginTransaction();
        Scalar<object>(c, tx, FormattableString.Invariant($"SELECT pg_advisory_xact_lock({MigrateLock});"));
        var schema = Scalar<string>(c, tx, "SELECT current_schema();")
            ?? throw new StorageException($"the PostgreSQL database {location} has no schema to create tables in: its search_path names none that exists");
        var current = 0;
        if (Scalar<string>(c, tx, "SELECT to_regclass('roadmap_schema')::text;") is not null)
        {
            current = Scalar<int?>(c, tx, $"SELECT max(version) FROM roadmap_schema WHERE application = '{Application}';")
                ?? throw NotRoadmaps(location, schema, "its roadmap_schema table carries no Roadmap mark");
        }
        // Quartz's qrtz_* tables are Roadmap's too in cluster mode, and another replica's scheduler may create them
        // before this replica has migrated.
        else if (Scalar<string>(c, tx, "SELECT string_agg(relname, ', ' ORDER BY relname) FROM (SELECT relname FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND relkind IN ('r', 'p', 'v', 'm', 'f') AND relname NOT LIKE 'qrtz\\_%' ORDER BY relname LIMIT 5) t;") is { } others)
        {
            throw NotRoadmaps(location, schema, $"it holds other tables ({others}) and no Roadmap schema");
        }

        if (current > Latest)
        {
            throw new StorageException(
                $"the PostgreSQL database {location} has Roadmap schema version {current}, newer than this Roadmap knows ({Latest}); use a newer Roadmap");
        }

        if (current == 0)
        {
            Execute(c, tx, $"""
                CREATE TABLE roadmap_schema (
                    version     integer PRIMARY KEY,
                    applied_at  bigint  NOT NULL,  -- unix milliseconds UTC
                    application text    NOT NULL DEFAULT '{Application}'  -- marks the schema as Roadmap's
                );
                """);
        }

        foreach (var (version, sql) in Steps.Where(s => s.Version > current))
        {
            Execute(c, tx, sql);
            Execute(c, tx, FormattableString.Invariant($"INSERT INTO roadmap_schema (version, applied_at) VALUES ({version}, {time.GetUtcNow().ToUnixTimeMilliseconds()});"));
            current = version;
        }

        var created = new List<string>();
        partitions.EnsureAhead(c, tx, time.GetUtcNow().ToUnixTimeMilliseconds(), created);
        tx.Commit();
        partitions.Committed(created);
        return current;
    }

    /// <summary>Sets each table's <see cref="PartitionedTable.StorageParameters"/> on every partition it has.</summary>
    private static string StorageParametersSql(params PartitionedTable[] tables) =>
        "DO $$\nDECLARE p regclass;\nBEGIN\n"
        + string.Concat(tables.Where(t => t.StorageParameters is not null).Select(t => $"""
                FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = '{t.Name}'::regclass LOOP
                    EXECUTE format('ALTER TABLE %s SET ({t.StorageParameters})', p);
                END LOOP;

            """))
        + "END\n$$;";

    private static StorageException NotRoadmaps(string location, string schema, string why) =>
        new($"the PostgreSQL database {location} is not Roadmap's: schema {schema} exists but {why}. Point Roadmap at an empty database (or schema) of its own; nothing was changed");

    private static T? Scalar<T>(NpgsqlConnection c, NpgsqlTransaction tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        return cmd.ExecuteScalar() is T value ? value : default;
    }

    private static void Execute(NpgsqlConnection c, NpgsqlTransaction tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.ExecuteNonQuery();
    }
}
