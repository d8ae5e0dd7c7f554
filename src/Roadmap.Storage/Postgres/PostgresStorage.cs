using System.Net.Sockets;
using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// The PostgreSQL backend: one database (its current schema), migrated on open, reached through one pooled data
/// source. The writer keeps one connection; readers take pooled ones per call or per session. Migrations only ever add.
/// </summary>
/// <remarks>
/// The connection string is a secret: it is never logged and never part of a message; <see cref="Location"/> names
/// host, port, database and user only. A connection lost under the running service fails the statement with
/// <see cref="StorageHealth.Unreachable"/>; the pool is cleared then, so the next attempt opens a fresh connection and
/// writing resumes as soon as the server answers again.
/// </remarks>
public sealed class PostgresStorage : IRoadmapStorage, IDisposable
{
    /// <summary>How old the size <see cref="SizeBytes"/> reports may get before it is read again: 30 s.</summary>
    private static readonly TimeSpan SizeMaxAge = TimeSpan.FromSeconds(30);

    private readonly NpgsqlDataSource _dataSource;
    private long _size;
    private long _sizeReadAt = long.MinValue / 2;
    private int _sizeReading;

    private PostgresStorage(NpgsqlDataSource dataSource, string location, string node, TimeProvider time)
    {
        _dataSource = dataSource;
        Cluster = new PostgresClusterStore(this);
        Location = location;
        Node = node;
        Samples = new PostgresSampleReader(this, new ClosedDaysCache(time));
        Evaluations = new PostgresEvaluationStore(this);
        Updates = new PostgresUpdateStore(this);
    }

    /// <summary><c>postgresql://USER@HOST:PORT/DATABASE</c>: no password, no other option.</summary>
    public string Location { get; }

    /// <summary>The node name stored with each poll (<see cref="StorageOptions.Node"/>).</summary>
    public string Node { get; }

    public int SchemaVersion { get; private set; }

    public ISampleReader Samples { get; }

    public IEvaluationStore Evaluations { get; }

    public IUpdateStore Updates { get; }

    public IClusterStore Cluster { get; }

    /// <summary>The partitions known to exist, shared by the writer and the evaluation store.</summary>
    internal Partitions Partitions { get; } = new();

    /// <summary>Connects, checks the database is Roadmap's (or empty), migrates it and creates the partitions due now.</summary>
    /// <exception cref="StorageException">No connection string; the server cannot be reached or refuses the login; the
    /// database is not Roadmap's or has a newer schema. The message never holds the connection string or the password,
    /// and nothing in the database is changed.</exception>
    public static PostgresStorage Open(StorageOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new StorageException("storage kind postgres needs a connection string (Host=...;Database=...;Username=...;Password=...)");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // The parser's message can quote a value of the string, and a value may be the password.
            throw new StorageException("the PostgreSQL connection string is not valid: write it as Key=Value pairs separated by ';' (Host, Port, Database, Username, Password, ...)");
        }

        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "roadmap";
        }

        // The writer's and a read session's statements are the same few, run thousands of times: prepared once per
        // physical connection, the server parses and plans them once.
        builder.MaxAutoPrepare = Math.Max(builder.MaxAutoPrepare, 64);
        builder.AutoPrepareMinUsages = 2;
        var location = $"postgresql://{builder.Username ?? "(default user)"}@{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username ?? "(default database)"}";
        NpgsqlDataSource dataSource;
        try
        {
            dataSource = NpgsqlDataSource.Create(builder);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException)
        {
            // Keywords that parse but do not go together; the message may quote a value, so it is not passed on.
            throw new StorageException($"the PostgreSQL connection string for {location} is not usable ({e.GetType().Name}): check its keywords against Npgsql's documented ones");
        }

        time ??= TimeProvider.System;
        var storage = new PostgresStorage(dataSource, location, options.Node, time);
        try
        {
            storage.Initialize(time);
            return storage;
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private void Initialize(TimeProvider time)
    {
        NpgsqlConnection c;
        try
        {
            c = _dataSource.OpenConnection();
        }
        catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
        {
            throw StartFailure(e);
        }

        using (c)
        {
            try
            {
                SchemaVersion = PostgresSchema.Apply(c, Partitions, time, Location);
            }
            catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
            {
                var wrapped = PostgresFailures.Wrap(e);
                throw new StorageException($"cannot migrate the PostgreSQL database {Location}: {wrapped.Message}", e, wrapped.Health, wrapped.Cause);
            }
        }
    }

    /// <summary>Why no connection could be opened at start, in an operator's words.</summary>
    private StorageException StartFailure(Exception e)
    {
        var (health, cause) = PostgresFailures.Classify(e);
        var message = e switch
        {
            PostgresException { SqlState: "28P01" or "28000" } p =>
                $"PostgreSQL at {Location} refused the login: {p.MessageText}. Check the user name and password in the connection string",
            PostgresException { SqlState: "3D000" } p =>
                $"PostgreSQL at {Location}: {p.MessageText}. Create it first (see the README's PostgreSQL setup)",
            PostgresException p => $"PostgreSQL at {Location} refused the connection: {p.MessageText}",
            _ when e.InnerException is SocketException s => $"cannot connect to PostgreSQL at {Location}: {s.Message}",
            _ => $"cannot connect to PostgreSQL at {Location}: {e.Message}",
        };
        return new StorageException(message, e, health, cause);
    }

    /// <summary>
    /// The database's size on disk (<c>pg_database_size</c>: every table and index of it, not only Roadmap's), as last
    /// read; 0 until first read. A read older than <see cref="SizeMaxAge"/> starts a new one in the background: the
    /// metrics scrape that asks must not wait for a server that does not answer (the last known size stays meanwhile).
    /// </summary>
    public long SizeBytes()
    {
        if (Environment.TickCount64 - Interlocked.Read(ref _sizeReadAt) >= SizeMaxAge.TotalMilliseconds
            && Interlocked.CompareExchange(ref _sizeReading, 1, 0) == 0)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    using var c = _dataSource.OpenConnection();
                    using var cmd = new NpgsqlCommand("SELECT pg_database_size(current_database());", c);
                    if (cmd.ExecuteScalar() is long size)
                    {
                        Interlocked.Exchange(ref _size, size);
                    }
                }
                catch (Exception e) when (PostgresFailures.IsStoreFailure(e))
                {
                    // Unknown for now: the writer's health says why; the last size stays.
                }
                finally
                {
                    Interlocked.Exchange(ref _sizeReadAt, Environment.TickCount64);
                    Interlocked.Exchange(ref _sizeReading, 0);
                }
            });
        }

        return Interlocked.Read(ref _size);
    }

    public IStorageWriteSession OpenWriteSession(StorageOptions options, TimeProvider time) => new PostgresWriteSession(this, options, time);

    /// <summary>A pooled connection, opened.</summary>
    internal NpgsqlConnection OpenConnection()
    {
        try
        {
            return _dataSource.OpenConnection();
        }
        catch (Exception e) when (PostgresFailures.IsConnectionLost(e))
        {
            ForgetConnections();
            throw;
        }
    }

    /// <summary>
    /// After the connection was lost: drops the pooled connections (after a server restart each of them is dead, and
    /// would fail once more before the pool noticed), so the next open reaches the server afresh.
    /// </summary>
    internal void ForgetConnections() => _dataSource.Clear();

    /// <summary>Runs <paramref name="action"/> on a pooled connection; a failure leaves as a <see cref="StorageException"/>.</summary>
    internal T Run<T>(Func<NpgsqlConnection, T> action) => PostgresFailures.Run(() =>
    {
        try
        {
            using var c = OpenConnection();
            return action(c);
        }
        catch (Exception e) when (PostgresFailures.IsConnectionLost(e))
        {
            ForgetConnections();
            throw;
        }
    });

    /// <summary>
    /// The ADO.NET provider and connection string Quartz's clustered job store reaches the same database with; its
    /// connections are named apart (<c>roadmap-quartz</c>) so pg_stat_activity tells them from the store's.
    /// </summary>
    /// <exception cref="StorageException">The connection string does not parse (the message never quotes it).</exception>
    internal static (System.Data.Common.DbProviderFactory Provider, string ConnectionString) JobStore(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            builder.ApplicationName = string.IsNullOrEmpty(builder.ApplicationName) ? "roadmap-quartz" : builder.ApplicationName + "-quartz";
            // A replica frozen (SIGSTOP, a VM paused) inside one of Quartz's transactions would hold its lock row, and
            // every replica's claims would wait behind it: the server ends such a session after 2 s, so the others go
            // on well inside the claim horizon. Quartz's own transactions are a few statements long.
            builder.Options = string.IsNullOrEmpty(builder.Options)
                ? "-c idle_in_transaction_session_timeout=2000"
                : builder.Options + " -c idle_in_transaction_session_timeout=2000";
            return (NpgsqlFactory.Instance, builder.ConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new StorageException("the PostgreSQL connection string is not valid: write it as Key=Value pairs separated by ';' (Host, Port, Database, Username, Password, ...)");
        }
    }

    public void Dispose() => _dataSource.Dispose();
}
