using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Roadmap.Storage;
using Roadmap.Storage.Postgres;
using Roadmap.Storage.Sqlite;

/// <summary>
/// The PostgreSQL benchmarks, on a server given by its connection string (bench/postgres.sh starts a tuned one): ingest
/// through the real writer against a bare binary-COPY loop into the same table on the same server, run after run in
/// turn; and the 1,000-KPI evaluation on the SQLite dataset copied in, its results compared with SQLite's.
/// </summary>
internal static class PostgresBench
{
    private static void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

    public static async Task Ingest(string connection, int series, int seconds, int perPoll, int runs, string clock)
    {
        for (var run = 1; run <= runs; run++)
        {
            // The same starting hour for both: near now, so the partitions made ahead at open hold it and the writer's
            // own retention keeps it.
            var t0 = RollupLevel.Hour.StartOf(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            double rate;
            using (var db = Fresh(connection, "roadmap_bench_writer"))
            {
                rate = (await WriterRun.Measure(db, series, seconds, perPoll, t0, "PostgreSQL BatchedWriter", clock)).Rate;
            }

            Drop(connection, "roadmap_bench_writer");
            (long Rows, double Seconds) anchor;
            using (var db = Fresh(connection, "roadmap_bench_anchor"))
            {
                anchor = CopyLoop(Database(connection, "roadmap_bench_anchor"), series, seconds, t0);
            }

            Drop(connection, "roadmap_bench_anchor");
            var anchorRate = anchor.Rows / anchor.Seconds;
            Emit(new { bench = "ingest", target = "anchor: bare binary COPY into the same samples table, 200k-row COPYs sorted by (series, ts), one transaction each", run, loadAverage = WriterRun.LoadAverage(), series, seconds = Math.Round(anchor.Seconds, 2), samples = anchor.Rows, samplesPerSecond = Math.Round(anchorRate) });
            Emit(new { bench = "ingest", run, ratio = Math.Round(rate / anchorRate, 3), meaning = "PostgreSQL BatchedWriter samples/s divided by the bare COPY loop's rows/s" });
        }
    }

    /// <summary>
    /// 200,000 rows per COPY, each COPY's rows sorted by (series, ts) as the writer sorts its batch (rows in arrival
    /// order would make the table's index slower, an anchor the writer beats): the most a plain loop gets from the table.
    /// </summary>
    private static (long Rows, double Seconds) CopyLoop(string connection, int series, int seconds, long t0)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        var random = new Random(42);
        var ticksPerCopy = 200_000 / series;
        var clock = Stopwatch.StartNew();
        long rows = 0, tick = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            using var copy = c.BeginBinaryImport("COPY samples (series_id, ts, value) FROM STDIN (FORMAT BINARY)");
            for (var s = 1; s <= series; s++)
            {
                for (var k = 0; k < ticksPerCopy; k++, rows++)
                {
                    copy.StartRow();
                    copy.Write((long)s, NpgsqlDbType.Bigint);
                    copy.Write(t0 + ((tick + k) * 1000), NpgsqlDbType.Bigint);
                    copy.Write(Math.Round(random.NextDouble() * 100, 3), NpgsqlDbType.Double);
                }
            }

            copy.Complete();
            tick += ticksPerCopy;
        }

        return (rows, clock.Elapsed.TotalSeconds);
    }

    public static void Evaluate(string connection, string sqlitePath, int kpis, int days)
    {
        const string name = "roadmap_bench_evaluate";
        var sqlite = RoadmapDatabase.Open(sqlitePath);
        if (!Exists(connection, name))
        {
            Drop(connection, name + "_part");
            using (var fresh = Fresh(connection, name + "_part"))
            {
                CopyDataset(sqlite, Database(connection, name + "_part"));
            }

            NpgsqlConnection.ClearAllPools(); // the copy's connections: a database in use cannot be renamed
            Execute(connection, $"ALTER DATABASE {name}_part RENAME TO {name};");
        }

        using var pg = PostgresStorage.Open(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = Database(connection, name) });
        var names = new List<(string, string)>();
        using (var c = new NpgsqlConnection(Database(connection, name)))
        {
            c.Open();
            using var q = new NpgsqlCommand("SELECT source, signal FROM series ORDER BY id;", c);
            using var r = q.ExecuteReader();
            while (r.Read())
            {
                names.Add((r.GetString(0), r.GetString(1)));
            }
        }

        var now = DateTimeOffset.UtcNow;
        var from = now - TimeSpan.FromDays(days);
        var onPostgres = EvaluationRounds.Run(pg.Samples, names, kpis, days, from, now, "postgres").Values;
        var onSqlite = EvaluationRounds.Run(sqlite.Samples, names, kpis, days, from, now, "sqlite").Values;
        double maxDifference = 0;
        var equal = 0;
        for (var k = 0; k < kpis; k++)
        {
            if (onPostgres[k] == onSqlite[k])
            {
                equal++;
            }
            else if (onPostgres[k] is { } p && onSqlite[k] is { } s)
            {
                maxDifference = Math.Max(maxDifference, Math.Abs(p - s) / Math.Abs(s));
            }
            else
            {
                maxDifference = double.PositiveInfinity;
            }
        }

        Emit(new { bench = "evaluate-compare", kpis, identical = equal, maxRelativeDifference = maxDifference, meaning = "each KPI's value on PostgreSQL against SQLite's, same data, same window, same instant" });
    }

    /// <summary>Series, samples and rollups of the SQLite dataset, by binary COPY, into the partitions they need.</summary>
    private static void CopyDataset(RoadmapDatabase sqlite, string connection)
    {
        var clock = Stopwatch.StartNew();
        using var from = sqlite.OpenConnection();
        using var to = new NpgsqlConnection(connection);
        to.Open();
        long Scalar(string sql)
        {
            using var q = from.CreateCommand();
            q.CommandText = sql;
            return q.ExecuteScalar() is long v ? v : 0;
        }

        var (min, max) = (Scalar("SELECT min(ts) FROM samples;"), Scalar("SELECT max(ts) FROM samples;"));
        foreach (var table in new[] { PartitionedTable.Samples, PartitionedTable.RollupsHour, PartitionedTable.RollupsDay })
        {
            for (var start = table.StartOf(min); start <= max; start = table.Next(start))
            {
                using var create = new NpgsqlCommand(table.CreateSql(start), to);
                create.ExecuteNonQuery();
            }
        }

        long rows = 0;
        void Copy(string select, string copy, Action<Microsoft.Data.Sqlite.SqliteDataReader, NpgsqlBinaryImporter> row)
        {
            using var q = from.CreateCommand();
            q.CommandText = select;
            using var r = q.ExecuteReader();
            using var w = to.BeginBinaryImport(copy);
            while (r.Read())
            {
                w.StartRow();
                row(r, w);
                rows++;
            }

            w.Complete();
        }

        Copy("SELECT id, source, signal FROM series;", "COPY series (id, source, signal) FROM STDIN (FORMAT BINARY)", (r, w) =>
        {
            w.Write(r.GetInt64(0), NpgsqlDbType.Bigint);
            w.Write(r.GetString(1), NpgsqlDbType.Text);
            w.Write(r.GetString(2), NpgsqlDbType.Text);
        });
        Copy("SELECT series_id, ts, value FROM samples ORDER BY series_id, ts;", "COPY samples (series_id, ts, value) FROM STDIN (FORMAT BINARY)", (r, w) =>
        {
            w.Write(r.GetInt64(0), NpgsqlDbType.Bigint);
            w.Write(r.GetInt64(1), NpgsqlDbType.Bigint);
            w.Write(r.GetDouble(2), NpgsqlDbType.Double);
        });
        foreach (var level in new[] { RollupLevel.Hour, RollupLevel.Day })
        {
            Copy(
                $"SELECT series_id, start_ts, count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch FROM {level.Table};",
                $"COPY {level.Table} (series_id, start_ts, count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch) FROM STDIN (FORMAT BINARY)",
                (r, w) =>
                {
                    w.Write(r.GetInt64(0), NpgsqlDbType.Bigint);
                    w.Write(r.GetInt64(1), NpgsqlDbType.Bigint);
                    w.Write(r.GetInt64(2), NpgsqlDbType.Bigint);
                    for (var i = 3; i <= 10; i++)
                    {
                        if (i is 6 or 8)
                        {
                            w.Write(r.GetInt64(i), NpgsqlDbType.Bigint);
                        }
                        else
                        {
                            w.Write(r.GetDouble(i), NpgsqlDbType.Double);
                        }
                    }

                    w.Write((byte[])r.GetValue(11), NpgsqlDbType.Bytea);
                });
        }

        using (var fix = new NpgsqlCommand("SELECT setval('series_id_seq', (SELECT max(id) FROM series)); ANALYZE;", to))
        {
            fix.CommandTimeout = 0;
            fix.ExecuteNonQuery();
        }

        Emit(new { bench = "pg-copy-dataset", rows, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1) });
    }

    internal static PostgresStorage Fresh(string connection, string name)
    {
        Drop(connection, name);
        Execute(connection, $"CREATE DATABASE {name};");
        return PostgresStorage.Open(new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = Database(connection, name), Node = "bench" });
    }

    internal static string Database(string connection, string name) =>
        new NpgsqlConnectionStringBuilder(connection) { Database = name, CommandTimeout = 0 }.ConnectionString;

    private static bool Exists(string connection, string name)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var q = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1;", c);
        q.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        return q.ExecuteScalar() is long n && n > 0;
    }

    internal static void Drop(string connection, string name)
    {
        Execute(connection, $"DROP DATABASE IF EXISTS {name} WITH (FORCE);");
        // Pooled connections to it are dead now; the next run's database of the same name needs fresh ones.
        NpgsqlConnection.ClearAllPools();
    }

    private static void Execute(string connection, string sql)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }
}
