using Dapper;
using Microsoft.Data.Sqlite;

namespace Roadmap.Storage;

/// <summary>The schema, as an ordered list of steps. A step is applied once, in a transaction, and never changed.</summary>
internal static class Migrations
{
    private static readonly (int Version, string Sql)[] Steps =
    [
        (1, """
            CREATE TABLE series (
                id     INTEGER PRIMARY KEY,
                source TEXT NOT NULL,
                signal TEXT NOT NULL,
                UNIQUE (source, signal)
            );
            CREATE TABLE samples (
                series_id INTEGER NOT NULL REFERENCES series (id),
                ts        INTEGER NOT NULL,  -- unix milliseconds UTC
                value     REAL    NOT NULL
            );
            CREATE INDEX samples_by_series_ts ON samples (series_id, ts);
            CREATE TABLE polls (
                id          INTEGER PRIMARY KEY,
                source      TEXT    NOT NULL,
                ts          INTEGER NOT NULL,  -- unix milliseconds UTC, when the poll started
                duration_ms REAL    NOT NULL,
                outcome     TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
                reason      TEXT
            );
            CREATE INDEX polls_by_source_ts ON polls (source, ts);
            """),
        (2, """
            CREATE TABLE evaluations (
                initiative TEXT    NOT NULL,
                kpi        TEXT    NOT NULL,
                ts         INTEGER NOT NULL,  -- unix milliseconds UTC
                value      REAL,              -- null: no data
                target     REAL,
                status     TEXT    NOT NULL
            );
            CREATE INDEX evaluations_by_kpi_ts ON evaluations (initiative, kpi, ts);
            CREATE TABLE baselines (
                initiative  TEXT    NOT NULL,
                kpi         TEXT    NOT NULL,
                from_date   TEXT    NOT NULL,  -- YYYY-MM-DD, inclusive
                to_date     TEXT    NOT NULL,  -- YYYY-MM-DD, inclusive
                definition  TEXT    NOT NULL,  -- what was measured: aggregate(source:signal/denominators)
                value       REAL    NOT NULL,
                samples     INTEGER NOT NULL,
                computed_at INTEGER NOT NULL,  -- unix milliseconds UTC
                PRIMARY KEY (initiative, kpi, from_date, to_date, definition)
            );
            """),
    ];

    public static int Latest => Steps[^1].Version;

    public static int Apply(SqliteConnection connection, TimeProvider time)
    {
        connection.Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);");
        var current = connection.ExecuteScalar<int?>("SELECT max(version) FROM schema_version;") ?? 0;
        if (current > Latest)
        {
            throw new StorageException($"the database has schema version {current}, newer than this Roadmap knows ({Latest}); use a newer Roadmap");
        }

        foreach (var (version, sql) in Steps.Where(s => s.Version > current))
        {
            using var tx = connection.BeginTransaction();
            connection.Execute(sql, transaction: tx);
            connection.Execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (@version, @at);",
                new { version, at = time.GetUtcNow().ToUnixTimeMilliseconds() },
                tx);
            tx.Commit();
            current = version;
        }

        return current;
    }
}
