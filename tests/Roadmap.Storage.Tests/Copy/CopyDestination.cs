using System.Data.Common;
using Roadmap.Storage.Copy;
using Roadmap.Storage.Tests.Sqlite;

namespace Roadmap.Storage.Tests.Copy;

/// <summary>
/// One destination backend of a copy under test: a fresh, empty store of its own, opened as a copy's destination and
/// as the service opens it (to compare what windows and histories answer). Each backend has one subclass, and
/// <see cref="StorageCopierTests"/> one concrete subclass per backend.
/// </summary>
public abstract class CopyDestination : IDisposable
{
    /// <summary>Opens (the first time: creates) the store as a copy's destination.</summary>
    public abstract IHistoryImport OpenImport(IHistoryExport source);

    /// <summary>Opens the store as the service does.</summary>
    public abstract IRoadmapStorage OpenStorage();

    /// <summary>Every row of the chunks table as another client reads it: see <see cref="ChunkRows(DbConnection)"/>.</summary>
    public abstract IReadOnlyList<string> ChunkRows();

    /// <summary>Every row of the hot samples table as another client reads it: see <see cref="HotRows(DbConnection)"/>.</summary>
    public abstract IReadOnlyList<string> HotRows();

    /// <summary>Every row of the chunks table on an open connection, one line each (its series' names, its columns and
    /// its bytes in hex), in ordinal order (the backends' collations need not agree).</summary>
    public static IReadOnlyList<string> ChunkRows(DbConnection connection) => Query(
        connection,
        "SELECT s.source, s.signal, c.start_ts, c.end_ts, c.count, c.min_ts, c.max_ts, c.data FROM chunks c JOIN series s ON s.id = c.series_id;",
        r => FormattableString.Invariant($"{r.GetString(0)}/{r.GetString(1)} {r.GetInt64(2)} {r.GetInt64(3)} {r.GetInt64(4)} {r.GetInt64(5)} {r.GetInt64(6)} {Convert.ToHexString(r.GetFieldValue<byte[]>(7))}"));

    /// <summary>Every row of the hot samples table on an open connection, one line each (the value bit for bit), in
    /// ordinal order.</summary>
    public static IReadOnlyList<string> HotRows(DbConnection connection)
    {
        if (connection is not Microsoft.Data.Sqlite.SqliteConnection)
        {
            return Query(
                connection,
                "SELECT s.source, s.signal, x.ts, x.value FROM samples x JOIN series s ON s.id = x.series_id;",
                r => FormattableString.Invariant($"{r.GetString(0)}/{r.GetString(1)} {r.GetInt64(2)} {BitConverter.DoubleToInt64Bits(r.GetDouble(3)):x16}"));
        }

        // SQLite's hot rows hold a source key's samples at one ts (schema v9): one line per sample, as PostgreSQL's.
        var names = new Dictionary<long, string>();
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT id, source, signal FROM series;";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                names[r.GetInt64(0)] = $"{r.GetString(1)}/{r.GetString(2)}";
            }
        }

        return [.. HotSamplesTable.Read(connection).Where(h => names.ContainsKey(h.Series))
            .Select(h => FormattableString.Invariant($"{names[h.Series]} {h.Ts} {BitConverter.DoubleToInt64Bits(h.Value):x16}"))
            .Order(StringComparer.Ordinal)];
    }

    private static List<string> Query(DbConnection connection, string sql, Func<DbDataReader, string> line)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var lines = new List<string>();
        while (r.Read())
        {
            lines.Add(line(r));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
