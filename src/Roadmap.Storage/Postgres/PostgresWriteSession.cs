using Npgsql;
using NpgsqlTypes;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The PostgreSQL half of the writer: one connection, one transaction per batch. Samples and polls go in by binary
/// COPY, the fastest way into a table; rollups by one upsert over array parameters. COPY cannot replace a row, so it
/// runs under a savepoint: where a row of the batch is already stored (a late repeat, or a batch written again after
/// its commit was not acknowledged) the COPY is rolled back to the savepoint and the rows go in by an upsert instead.
/// A lost connection is dropped and a new one opened at the next <see cref="Begin"/>.
/// </summary>
internal sealed class PostgresWriteSession : IStorageWriteSession
{
    private const string UniqueViolation = "23505";

    private readonly PostgresStorage _storage;
    private readonly StorageOptions _options;
    private readonly PostgresRetention _retention;
    private readonly Compactor _compactor;
    private readonly TimeProvider _time;
    private PostgresChunks? _chunks;
    private readonly List<string> _created = [];
    private readonly HashSet<long> _starts = [];
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _tx;

    public PostgresWriteSession(PostgresStorage storage, StorageOptions options, TimeProvider time)
    {
        _storage = storage;
        _options = options;
        _retention = new PostgresRetention(storage.Partitions, options, time);
        _compactor = new Compactor(options, time);
        _time = time;
    }

    private NpgsqlConnection C => _connection ?? throw new InvalidOperationException("no connection: Begin first");

    private NpgsqlTransaction Tx => _tx ?? throw new InvalidOperationException("no open transaction: Begin first");

    public void Begin() => Guard(() =>
    {
        _tx = Connection().BeginTransaction();
    });

    public void Commit() => Guard(() =>
    {
        var tx = Tx;
        tx.Commit();
        tx.Dispose();
        _tx = null;
        _storage.Partitions.Committed(_created);
    });

    public void Rollback()
    {
        _created.Clear();
        if (_tx is null)
        {
            return;
        }

        try
        {
            _tx.Rollback();
        }
        catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
        {
            // The connection is gone with its transaction: nothing was committed.
            DropConnection();
        }
        finally
        {
            _tx?.Dispose();
            _tx = null;
        }
    }

    public void InsertPolls(ReadOnlySpan<PollRow> polls)
    {
        if (polls.IsEmpty)
        {
            return;
        }

        var rows = polls.ToArray();
        Guard(() =>
        {
            EnsurePartitions(PartitionedTable.Polls, rows.Select(p => p.TimestampMs));
            // Within a batch a (source, ts) repeats only when the same poll was queued twice: one row is enough.
            var unique = rows.DistinctBy(p => (p.Source, p.TimestampMs)).ToArray();
            CopyOrUpsert(
                "COPY polls (source, ts, scheduled_ts, node, duration_ms, outcome, reason) FROM STDIN (FORMAT BINARY)",
                w =>
                {
                    foreach (var p in unique)
                    {
                        w.StartRow();
                        w.Write(p.Source, NpgsqlDbType.Text);
                        w.Write(p.TimestampMs, NpgsqlDbType.Bigint);
                        if (p.ScheduledMs is { } scheduled)
                        {
                            w.Write(scheduled, NpgsqlDbType.Bigint);
                        }
                        else
                        {
                            w.WriteNull();
                        }

                        w.Write(_storage.Node, NpgsqlDbType.Text);
                        w.Write(p.DurationSeconds * 1000, NpgsqlDbType.Double);
                        w.Write(p.Success ? "success" : "failure", NpgsqlDbType.Text);
                        if (p.Reason is null)
                        {
                            w.WriteNull();
                        }
                        else
                        {
                            w.Write(p.Reason, NpgsqlDbType.Text);
                        }
                    }
                },
                () =>
                {
                    // The same poll stored already: the batch is being written again; keep the stored row.
                    using var cmd = new NpgsqlCommand(
                        """
                        INSERT INTO polls (source, ts, scheduled_ts, node, duration_ms, outcome, reason)
                        SELECT s, t, st, $4, d, o, r FROM unnest($1::text[], $2::bigint[], $3::bigint[], $5::float8[], $6::text[], $7::text[]) AS u(s, t, st, d, o, r)
                        ON CONFLICT (source, ts, node) DO NOTHING;
                        """,
                        C,
                        Tx);
                    cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = unique.Select(p => p.Source).ToArray() });
                    cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = unique.Select(p => p.TimestampMs).ToArray() });
                    cmd.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = unique.Select(p => p.ScheduledMs).ToArray() });
                    cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _storage.Node });
                    cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = unique.Select(p => p.DurationSeconds * 1000).ToArray() });
                    cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = unique.Select(p => p.Success ? "success" : "failure").ToArray() });
                    cmd.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = unique.Select(p => p.Reason).ToArray() });
                    cmd.ExecuteNonQuery();
                });
        });
    }

    public long SeriesId(string source, string signal) => Guard(() =>
    {
        // Another writer (a second replica) may create it between the two statements: then the insert does nothing
        // and the second select finds it.
        return FindSeries(source, signal) ?? CreateSeries(source, signal) ?? FindSeries(source, signal)
            ?? throw new InvalidOperationException($"the series {source}:{signal} was neither found nor created");
    });

    /// <summary>
    /// Binary COPY of the sorted rows, the last of each (series, ts) only (the later arrival wins within the batch);
    /// where one is stored already, an upsert replaces it instead.
    /// </summary>
    public void InsertSamples(ReadOnlySpan<SeriesSample> rows)
    {
        if (rows.IsEmpty)
        {
            return;
        }

        // Sorted by (series, ts, arrival): the last of a run of equal (series, ts) is the one to keep.
        var series = new long[rows.Length];
        var ts = new long[rows.Length];
        var values = new double[rows.Length];
        var n = 0;
        _starts.Clear();
        var lastDay = long.MinValue;
        for (var i = 0; i < rows.Length; i++)
        {
            if (i + 1 < rows.Length && rows[i + 1].Series == rows[i].Series && rows[i + 1].Ts == rows[i].Ts)
            {
                continue;
            }

            series[n] = rows[i].Series;
            ts[n] = rows[i].Ts;
            values[n] = rows[i].Value;
            n++;
            var day = RollupLevel.Day.StartOf(rows[i].Ts);
            if (day != lastDay)
            {
                _starts.Add(day);
                lastDay = day;
            }
        }

        Guard(() =>
        {
            EnsurePartitions(PartitionedTable.Samples, _starts);
            CopyOrUpsert(
                "COPY samples (series_id, ts, value) FROM STDIN (FORMAT BINARY)",
                w =>
                {
                    for (var i = 0; i < n; i++)
                    {
                        w.StartRow();
                        w.Write(series[i], NpgsqlDbType.Bigint);
                        w.Write(ts[i], NpgsqlDbType.Bigint);
                        w.Write(values[i], NpgsqlDbType.Double);
                    }
                },
                () =>
                {
                    using var cmd = new NpgsqlCommand(
                        """
                        INSERT INTO samples (series_id, ts, value) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[])
                        ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value;
                        """,
                        C,
                        Tx);
                    cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = series[..n] });
                    cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ts[..n] });
                    cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = values[..n] });
                    cmd.ExecuteNonQuery();
                });
        });
    }

    public IReadOnlyList<Point> ReadSamples(long series, long fromMs, long toMs) => Guard(() =>
    {
        var points = new List<Point>();
        (_chunks ??= new PostgresChunks(C, _storage.Partitions)).Read(series, fromMs, toMs + 1, points.Add, _tx);
        return points;
    });

    public bool HasDayChunk(long series, long dayStartMs) => Guard(() =>
    {
        using var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM chunks WHERE series_id = $1 AND start_ts = $2 AND end_ts = $3);", C, _tx);
        Bind(cmd, series, dayStartMs, dayStartMs + ChunkedSamples.MaxRangeMs);
        return cmd.ExecuteScalar() is true;
    });

    public SeriesSummary? ReadRollup(RollupLevel level, long series, long startMs) => Guard(() =>
    {
        using var cmd = new NpgsqlCommand($"SELECT {PostgresRows.RollupColumns} FROM {level.Table} WHERE series_id = $1 AND start_ts = $2;", C, _tx);
        Bind(cmd, series, startMs);
        using var r = cmd.ExecuteReader();
        return r.Read() ? PostgresRows.Rollup(r) : null;
    });

    public SeriesSummary CombineRollups(RollupLevel level, long series, long fromMs, long toMs) => Guard(() =>
    {
        using var cmd = new NpgsqlCommand($"SELECT {PostgresRows.RollupColumns} FROM {level.Table} WHERE series_id = $1 AND start_ts >= $2 AND start_ts < $3 ORDER BY start_ts;", C, _tx);
        Bind(cmd, series, fromMs, toMs);
        var total = SeriesSummary.Empty();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            total.Append(PostgresRows.Rollup(r));
        }

        return total;
    });

    public void ClosedDaysChanged(IReadOnlyCollection<long> series)
    {
        if (series.Count == 0)
        {
            return;
        }

        Guard(() =>
        {
            using var cmd = new NpgsqlCommand("UPDATE series SET closed_days_version = closed_days_version + 1 WHERE id = ANY($1);", C, Tx);
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = series.ToArray() });
            cmd.ExecuteNonQuery();
        });
    }

    public void AppendEvaluations(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        if (evaluations.Count == 0)
        {
            return;
        }

        Guard(() => PostgresEvaluationStore.Insert(_storage.Partitions, C, Tx, evaluations, _created));
    }

    public void UpsertRollups(RollupLevel level, IReadOnlyList<RollupRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        Guard(() =>
        {
            var table = PartitionedTable.Rollups(level);
            EnsurePartitions(table, rows.Select(r => r.StartMs));
            using var cmd = new NpgsqlCommand(
                $"""
                INSERT INTO {level.Table} (series_id, start_ts, {PostgresRows.RollupColumns})
                SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::bigint[], $8::float8[], $9::bigint[], $10::float8[], $11::float8[], $12::bytea[])
                {PostgresRows.RollupOnConflict}
                """,
                C,
                Tx);
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.Series).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.StartMs).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.Summary.Count).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = rows.Select(r => r.Summary.Sum).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = rows.Select(r => r.Summary.Min).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = rows.Select(r => r.Summary.Max).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.Summary.FirstTimestampMs).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = rows.Select(r => r.Summary.FirstValue).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = rows.Select(r => r.Summary.LastTimestampMs).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = rows.Select(r => r.Summary.LastValue).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = rows.Select(r => r.Summary.Increase).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = rows.Select(r => r.Summary.Sketch.ToBytes()).ToArray() });
            cmd.ExecuteNonQuery();
        });
    }

    /// <summary>Nothing can be lost under the writer the way a file can: a database dropped under it fails its statements.</summary>
    public string? StoreLost() => null;

    public string RecoverStore() => throw new InvalidOperationException("a PostgreSQL store is never found lost: StoreLost returned null");

    public int Prune()
    {
        if (!_retention.Due)
        {
            return 0;
        }

        return Guard(() => _retention.Step(Connection()));
    }

    public CompactionStep Compact()
    {
        if (!_compactor.Due)
        {
            return default;
        }

        return Guard(() =>
        {
            var step = _compactor.Step(_chunks ??= new PostgresChunks(Connection(), _storage.Partitions));
            if (step.Chunks == 0)
            {
                ReleaseSealedPartitions();
            }

            return step;
        });
    }

    /// <summary>
    /// Once a sweep has sealed every closed day, the day partitions of the samples table before it hold nothing but
    /// the dead rows that were sealed, whose space PostgreSQL would keep until retention drops the partition: each such
    /// partition is emptied (under its lock, checked empty first, so a late sample inserted meanwhile is kept), which
    /// gives its space back at once.
    /// </summary>
    private void ReleaseSealedPartitions()
    {
        var closed = RollupLevel.Day.StartOf(_time.GetUtcNow().ToUnixTimeMilliseconds() - (long)_options.CompactGrace.TotalMilliseconds);
        var c = Connection();
        foreach (var (name, _, to) in Partitions.List(c, null, PartitionedTable.Samples))
        {
            if (to > closed)
            {
                continue;
            }

            using (var size = new NpgsqlCommand("SELECT pg_relation_size(to_regclass($1));", c))
            {
                size.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
                if (size.ExecuteScalar() is not long bytes || bytes == 0)
                {
                    continue;
                }
            }

            using var tx = c.BeginTransaction();
            using (var lockIt = new NpgsqlCommand($"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE;", c, tx))
            {
                lockIt.ExecuteNonQuery();
            }

            using (var any = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {name});", c, tx))
            {
                if (any.ExecuteScalar() is true)
                {
                    tx.Rollback();
                    continue;
                }
            }

            using (var truncate = new NpgsqlCommand($"TRUNCATE {name};", c, tx))
            {
                truncate.ExecuteNonQuery();
            }

            tx.Commit();
        }
    }

    public void Dispose()
    {
        Rollback();
        DropConnection();
    }

    /// <summary>The session's connection, opened when there is none (first use, or after one was lost).</summary>
    private NpgsqlConnection Connection()
    {
        if (_connection is not null)
        {
            return _connection;
        }

        var c = _storage.OpenConnection();
        try
        {
            // A lock held by another session (a migration, retention's drop) is waited for this long, then the batch
            // fails as Locked and is retried.
            using var cmd = new NpgsqlCommand(FormattableString.Invariant($"SET lock_timeout = {(long)_options.BusyTimeout.TotalMilliseconds};"), c);
            cmd.ExecuteNonQuery();
        }
        catch
        {
            c.Dispose();
            throw;
        }

        return _connection = c;
    }

    private void DropConnection()
    {
        _tx = null;
        _chunks = null;
        _connection?.Dispose();
        _connection = null;
    }

    /// <summary>Creates, in the batch's transaction, the partitions of <paramref name="table"/> that hold the times.</summary>
    private void EnsurePartitions(PartitionedTable table, IEnumerable<long> times)
    {
        var starts = new HashSet<long>();
        foreach (var t in times)
        {
            starts.Add(table.StartOf(t));
        }

        _storage.Partitions.Ensure(C, Tx, table, starts, _created);
    }

    /// <summary>COPY under a savepoint; on a row already stored, back to the savepoint and <paramref name="upsert"/> instead.</summary>
    private void CopyOrUpsert(string copy, Action<NpgsqlBinaryImporter> write, Action upsert)
    {
        Tx.Save("copy");
        try
        {
            using (var importer = C.BeginBinaryImport(copy))
            {
                write(importer);
                importer.Complete();
            }

            Tx.Release("copy");
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation)
        {
            Tx.Rollback("copy");
            upsert();
        }
    }

    private long? FindSeries(string source, string signal)
    {
        using var cmd = new NpgsqlCommand("SELECT id FROM series WHERE source = $1 AND signal = $2;", C, _tx);
        Bind(cmd, source, signal);
        return cmd.ExecuteScalar() is long id ? id : null;
    }

    private long? CreateSeries(string source, string signal)
    {
        using var cmd = new NpgsqlCommand("INSERT INTO series (source, signal) VALUES ($1, $2) ON CONFLICT (source, signal) DO NOTHING RETURNING id;", C, _tx);
        Bind(cmd, source, signal);
        return cmd.ExecuteScalar() is long id ? id : null;
    }

    private static void Bind(NpgsqlCommand cmd, params long[] values)
    {
        foreach (var v in values)
        {
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = v });
        }
    }

    private static void Bind(NpgsqlCommand cmd, string a, string b)
    {
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = a });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = b });
    }

    private void Guard(Action action) => Guard(() =>
    {
        action();
        return 0;
    });

    /// <summary>Runs a step of the session; a failure leaves as a <see cref="StorageException"/>, and a lost connection
    /// is dropped (with the pool's) so the retry opens a new one.</summary>
    private T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
        {
            if (PostgresFailures.IsConnectionLost(e) || _connection is { State: not System.Data.ConnectionState.Open })
            {
                _tx = null;
                DropConnection();
                _storage.ForgetConnections();
            }

            throw PostgresFailures.Wrap(e);
        }
    }
}
