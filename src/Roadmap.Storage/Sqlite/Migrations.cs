using Dapper;
using Microsoft.Data.Sqlite;

namespace Roadmap.Storage.Sqlite;

/// <summary>The schema, as an ordered list of steps. A step is applied once, in a transaction, and never changed.</summary>
internal static class Migrations
{
    private static readonly (int Version, string Sql, Action<SqliteConnection, SqliteTransaction>? After)[] Steps =
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
            """, null),
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
            """, null),
        // v3: samples clustered by (series_id, ts) so a series' window is one contiguous range and a sorted batch
        // appends at the end of each series' range; rollups per series and hour and per series and UTC day.
        // Data is copied, never dropped: every v2 sample moves to the new table; where v2 held two samples of one
        // series at the same ts (possible there, not in the new key) the one inserted last is kept. No foreign key
        // on samples.series_id: the writer creates the series row first, and a per-row key check costs ingest speed.
        // The rollups of the copied samples are computed in the same transaction (RollupsTable.RebuildAll).
        (3, """
            CREATE TABLE samples_v3 (
                series_id INTEGER NOT NULL,
                ts        INTEGER NOT NULL,  -- unix milliseconds UTC
                value     REAL    NOT NULL,
                PRIMARY KEY (series_id, ts)
            ) WITHOUT ROWID;
            INSERT OR REPLACE INTO samples_v3 (series_id, ts, value) SELECT series_id, ts, value FROM samples ORDER BY rowid;
            DROP TABLE samples;
            ALTER TABLE samples_v3 RENAME TO samples;
            CREATE TABLE rollups_hour (
                series_id   INTEGER NOT NULL,
                start_ts    INTEGER NOT NULL,  -- unix milliseconds UTC, start of the hour
                count       INTEGER NOT NULL,
                sum         REAL    NOT NULL,
                min         REAL    NOT NULL,
                max         REAL    NOT NULL,
                first_ts    INTEGER NOT NULL,
                first_value REAL    NOT NULL,
                last_ts     INTEGER NOT NULL,
                last_value  REAL    NOT NULL,
                increase    REAL    NOT NULL,  -- counter increase within the bucket (resets handled)
                sketch      BLOB    NOT NULL,  -- QuantileSketch.ToBytes
                PRIMARY KEY (series_id, start_ts)
            ) WITHOUT ROWID;
            CREATE TABLE rollups_day (
                series_id   INTEGER NOT NULL,
                start_ts    INTEGER NOT NULL,  -- unix milliseconds UTC, 00:00 UTC of the day
                count       INTEGER NOT NULL,
                sum         REAL    NOT NULL,
                min         REAL    NOT NULL,
                max         REAL    NOT NULL,
                first_ts    INTEGER NOT NULL,
                first_value REAL    NOT NULL,
                last_ts     INTEGER NOT NULL,
                last_value  REAL    NOT NULL,
                increase    REAL    NOT NULL,
                sketch      BLOB    NOT NULL,
                PRIMARY KEY (series_id, start_ts)
            ) WITHOUT ROWID;
            """, RollupsTable.RebuildAll),
        // Issue 17 changed what a budget KPI's status means (its error budget over the whole window, not its value
        // alone): rows stored before keep their status but are marked as judged under rules 1, so no reader takes
        // an old "missed" for a spent budget. Nothing is dropped.
        (4, """
            ALTER TABLE evaluations ADD COLUMN rules INTEGER NOT NULL DEFAULT 1;
            """, null),
        // v5: what each scheduled update (settings.updates) covered and how it ended, so a restart neither repeats
        // nor skips one. A new table; nothing else changes.
        (5, """
            CREATE TABLE update_deliveries (
                name     TEXT    NOT NULL,  -- settings.updates[].name
                fire_ts  INTEGER NOT NULL,  -- unix milliseconds UTC: the scheduled fire this row is for
                ended_ts INTEGER NOT NULL,  -- unix milliseconds UTC: when it was sent, given up, or first scheduled
                outcome  TEXT    NOT NULL CHECK (outcome IN ('scheduled', 'success', 'failure')),
                attempts INTEGER NOT NULL,
                blocked  TEXT,              -- success only: the ids of the initiatives blocked then, comma-separated
                PRIMARY KEY (name, fire_ts)
            );
            """, null),
        // v6: compact history. A chunk is one series' samples over an hour or a UTC day (Chunks/ChunkCodec), sealed
        // from the samples table (now the hot part: the newest rows, and late ones) by the writer's compactor; the
        // summary numbers are in the chunk's header, read without decompressing, so they are not repeated as columns.
        // A rowid table: a chunk of a day is kilobytes, and SQLite keeps that much of a row in a table's leaf page,
        // not in an index's. The partial index finds the hour chunks left to merge into their day, and is nearly empty.
        // Nothing moves here: the compactor seals the stored samples after start, batch by batch (the conversion).
        (6, """
            CREATE TABLE chunks (
                series_id INTEGER NOT NULL,
                start_ts  INTEGER NOT NULL,  -- unix milliseconds UTC: the start of the hour or day the chunk covers
                end_ts    INTEGER NOT NULL,  -- one past its end
                count     INTEGER NOT NULL,  -- samples in the chunk
                min_ts    INTEGER NOT NULL,  -- its oldest sample's ts
                max_ts    INTEGER NOT NULL,  -- its newest sample's ts
                data      BLOB    NOT NULL,  -- ChunkCodec
                PRIMARY KEY (series_id, start_ts)
            );
            CREATE INDEX chunks_partial ON chunks (start_ts) WHERE end_ts - start_ts < 86400000;
            """, null),
        // v7: a series' closed-days version, raised in the same transaction as any write or delete of a day rollup
        // of a day that has ended, so readers that keep the merged day rollups of a long window between rounds
        // (ClosedDaysCache) know when to read them again. A column with a constant default: nothing is rewritten.
        (7, """
            ALTER TABLE series ADD COLUMN closed_days_version INTEGER NOT NULL DEFAULT 0;
            """, null),
        // v8: the hot samples clustered by source first: (source_key, ts, series_id). Keyed by (series_id, ts), a batch
        // wrote the newest page of every series it touched; a source's signals are its series, so a poll of a source
        // with nine signals dirtied nine pages of one row each. Now the poll's samples lie side by side in one page,
        // and a batch writes a page per source: bench/Roadmap.Bench.Storage hot-layouts measured a third to a quarter
        // of the CPU at 10,000 sources a second (docs/PERFORMANCE.md, issue 23). A series' source key is the id of the
        // first series of its group: a source's series in id order, 16 to a group (SamplesTable.SeriesPerSourceKey,
        // here as a literal: a step never changes). Every sample moves, none is dropped (a sample without a series
        // row keeps its series' id as its key, where the statements on the table look for it).
        (8, """
            ALTER TABLE series ADD COLUMN source_key INTEGER NOT NULL DEFAULT 0;
            WITH ranked AS (
                SELECT id, source, (row_number() OVER (PARTITION BY source ORDER BY id) - 1) / 16 AS part FROM series),
            keyed AS (SELECT id, min(id) OVER (PARTITION BY source, part) AS key FROM ranked)
            UPDATE series SET source_key = keyed.key FROM keyed WHERE keyed.id = series.id;
            CREATE TABLE samples_v8 (
                source_key INTEGER NOT NULL,  -- series.source_key of the sample's series
                ts         INTEGER NOT NULL,  -- unix milliseconds UTC
                series_id  INTEGER NOT NULL,
                value      REAL    NOT NULL,
                PRIMARY KEY (source_key, ts, series_id)
            ) WITHOUT ROWID;
            INSERT INTO samples_v8 (source_key, ts, series_id, value)
                SELECT coalesce(r.source_key, x.series_id), x.ts, x.series_id, x.value FROM samples x LEFT JOIN series r ON r.id = x.series_id;
            DROP TABLE samples;
            ALTER TABLE samples_v8 RENAME TO samples;
            """, null),
        // v9: one hot row per source key and ts, the samples of the key's series at that ts in one blob (HotRow): a
        // poll of a source is one row, not one per signal. Keyed by (source_key, ts, series_id), a batch inserted 9 rows
        // per http poll; bench/Roadmap.Bench.Storage hot-layouts measured one row per poll at about half the CPU a
        // sample (docs/PERFORMANCE.md, issue 23). Every sample moves, none is dropped: the v8 rows are read in their
        // key's order and each run of one key and ts becomes a row (SamplesTable.MoveToHotRows).
        (9, """
            CREATE TABLE samples_v9 (
                source_key INTEGER NOT NULL,  -- series.source_key of the row's series
                ts         INTEGER NOT NULL,  -- unix milliseconds UTC
                data       BLOB    NOT NULL,  -- HotRow: (series offset from the key, value) per series
                PRIMARY KEY (source_key, ts)
            ) WITHOUT ROWID;
            """, SamplesTable.MoveToHotRows),
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

        foreach (var (version, sql, after) in Steps.Where(s => s.Version > current))
        {
            using var tx = connection.BeginTransaction();
            connection.Execute(sql, transaction: tx);
            after?.Invoke(connection, tx);
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
