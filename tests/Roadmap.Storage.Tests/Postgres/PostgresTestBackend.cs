using Npgsql;
using Roadmap.Core.Evaluation;
using Roadmap.Sources.Tests.Sql;
using Roadmap.Storage.Postgres;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>
/// The PostgreSQL backend under test: a database of its own (CREATE DATABASE per test), on the test class's real server
/// (<see cref="PostgresServer"/>, one per class), dropped with the backend.
/// </summary>
public sealed class PostgresTestBackend : StorageTestBackend
{
    private readonly PostgresServer _server;
    private readonly List<PostgresStorage> _opened = [];

    public PostgresTestBackend(PostgresServer server, TimeProvider? time = null)
    {
        _server = server;
        Time = time;
        Database = "roadmap_" + Guid.NewGuid().ToString("N");
        using var c = Admin();
        Execute(c, $"CREATE DATABASE {Database};");
    }

    /// <summary>This test's database.</summary>
    public string Database { get; }

    /// <summary>The clock the store is opened with; null: the system's.</summary>
    public TimeProvider? Time { get; }

    /// <summary>The connection string of this test's database.</summary>
    public string ConnectionString => _server.ConnectionString().Replace($"Database={PostgresServer.Database}", $"Database={Database}", StringComparison.Ordinal);

    public StorageOptions Options(Action<StorageOptions>? more = null)
    {
        var options = new StorageOptions { Kind = StorageKind.Postgres, ConnectionString = ConnectionString, Node = "node-a" };
        more?.Invoke(options);
        return options;
    }

    public override IRoadmapStorage Open() => Open(Options());

    public PostgresStorage Open(StorageOptions options)
    {
        var storage = (PostgresStorage)StorageBackends.Open(options, Time);
        lock (_opened)
        {
            _opened.Add(storage);
        }

        return storage;
    }

    public override long Count(string table) => table == "samples" ? Samples().Count : Scalar<long>($"SELECT count(*) FROM {table};");

    public override long HotSamples() => Scalar<long>("SELECT count(*) FROM samples;");

    public override IReadOnlyList<(long Series, long Ts, double Value)> Samples()
    {
        using var c = Connection();
        var ids = new List<long>();
        using (var cmd = new NpgsqlCommand("SELECT series_id FROM samples UNION SELECT series_id FROM chunks ORDER BY 1;", c))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                ids.Add(r.GetInt64(0));
            }
        }

        var rows = new List<(long, long, double)>();
        var chunks = new PostgresChunks(c);
        foreach (var id in ids)
        {
            chunks.Read(id, long.MinValue / 4, long.MaxValue / 4, p => rows.Add((id, p.TimestampMs, p.Value)));
        }

        return rows;
    }

    public override HashSet<(long Series, long DayStart)> DayChunks()
    {
        var found = new HashSet<(long, long)>();
        using var c = Connection();
        using var cmd = new NpgsqlCommand("SELECT series_id, start_ts FROM chunks WHERE end_ts - start_ts = 86400000;", c);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            found.Add((r.GetInt64(0), r.GetInt64(1)));
        }

        return found;
    }

    public override Dictionary<(long Series, long Start), SeriesSummary> Rollups(RollupLevel level)
    {
        var result = new Dictionary<(long, long), SeriesSummary>();
        using var c = Connection();
        using var cmd = new NpgsqlCommand($"SELECT series_id, start_ts, count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch FROM {level.Table};", c);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            result[(r.GetInt64(0), r.GetInt64(1))] = SeriesSummary.Restore(r.GetInt64(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetInt64(6), r.GetDouble(7), r.GetInt64(8), r.GetDouble(9), r.GetDouble(10), QuantileSketch.FromBytes(r.GetFieldValue<byte[]>(11)));
        }

        return result;
    }

    /// <summary>Runs SQL in this test's database, as another client would.</summary>
    public T? Scalar<T>(string sql)
    {
        using var c = Connection();
        using var cmd = new NpgsqlCommand(sql, c);
        return cmd.ExecuteScalar() is T value ? value : default;
    }

    /// <summary>Runs statements in this test's database, as another client would.</summary>
    public override void Execute(string sql)
    {
        using var c = Connection();
        Execute(c, sql);
    }

    /// <summary>The tables (partitions included) of this test's public schema, with their row counts: what a refused
    /// open must leave exactly as it was.</summary>
    public string Snapshot()
    {
        var tables = new List<string>();
        using (var c = Connection())
        using (var cmd = new NpgsqlCommand("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'S', 'i') ORDER BY relname;", c))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                tables.Add(r.GetString(0));
            }
        }

        return string.Join("\n", tables.Select(t => $"{t}: {(Scalar<string>($"SELECT relkind::text FROM pg_class WHERE relname = '{t}'") is "r" or "p" ? Scalar<long>($"SELECT count(*) FROM {t}") : -1)}"));
    }

    /// <summary>The partitions of a table: their names, oldest first.</summary>
    public IReadOnlyList<string> PartitionsOf(string table)
    {
        using var c = Connection();
        using var cmd = new NpgsqlCommand("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY c.relname;", c);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
        using var r = cmd.ExecuteReader();
        var names = new List<string>();
        while (r.Read())
        {
            names.Add(r.GetString(0));
        }

        return names;
    }

    protected override void Dispose(bool disposing)
    {
        lock (_opened)
        {
            foreach (var storage in _opened)
            {
                storage.Dispose();
            }
        }

        try
        {
            using var c = Admin();
            Execute(c, $"DROP DATABASE IF EXISTS {Database} WITH (FORCE);");
        }
        catch (NpgsqlException)
        {
            // The server is gone already (a test stopped it): its folder is deleted with the fixture.
        }
    }

    private NpgsqlConnection Connection()
    {
        var c = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        c.Open();
        return c;
    }

    private NpgsqlConnection Admin()
    {
        var c = new NpgsqlConnection(_server.ConnectionString(extra: "Pooling=false"));
        c.Open();
        return c;
    }

    private static void Execute(NpgsqlConnection c, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }
}
