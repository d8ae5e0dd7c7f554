using System.Net.Sockets;
using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>What the PostgreSQL backend's failures mean, and their translation into the one <see cref="StorageException"/>.</summary>
internal static class PostgresFailures
{
    /// <summary>
    /// Whether an exception is a failure of the store (and is wrapped): the server's and the driver's (a refused, reset
    /// or timed-out connection), a broken connection's state, and a corrupt sketch in a row.
    /// </summary>
    public static bool IsStoreFailure(Exception e) =>
        e is NpgsqlException or IOException or SocketException or TimeoutException or InvalidOperationException or FormatException;

    /// <summary>Runs a read or write of the store; its failure leaves as a <see cref="StorageException"/>.</summary>
    public static T Run<T>(Func<T> action) => StoreCalls.Run(action, IsStoreFailure, Wrap);

    /// <inheritdoc cref="Run{T}(Func{T})"/>
    public static void Run(Action action) => StoreCalls.Run(() => { action(); return 0; }, IsStoreFailure, Wrap);

    /// <summary>
    /// The failure as a <see cref="StorageException"/> with its health state. The message is the server's or the
    /// driver's; neither holds the connection string or the password (Npgsql never quotes them).
    /// </summary>
    public static StorageException Wrap(Exception e)
    {
        if (e is StorageException s)
        {
            return s;
        }

        var (health, cause) = Classify(e);
        return new StorageException(e is PostgresException p ? p.MessageText : e.Message, e, health, cause);
    }

    /// <summary>Whether the failure is the connection's (the server gone, or unreachable), not the statement's.</summary>
    public static bool IsConnectionLost(Exception e) => Classify(e).Health == StorageHealth.Unreachable;

    /// <summary>What a failure means for an operator: the state and a short description of the cause.</summary>
    public static (StorageHealth Health, string Cause) Classify(Exception e) => e switch
    {
        PostgresException p => p.SqlState switch
        {
            // Class 53: insufficient resources; 53100 is disk_full.
            "53100" => (StorageHealth.DiskFull, "disk full"),
            "55P03" or "40P01" or "40001" => (StorageHealth.Locked, "database locked by another session"),
            // Class 57P: the server is shutting down or starting up; class 08: the connection failed.
            "57P01" or "57P02" or "57P03" => (StorageHealth.Unreachable, "database server unreachable"),
            "28P01" or "28000" => (StorageHealth.Failing, "login refused"),
            "3D000" => (StorageHealth.Failing, "database does not exist"),
            "42501" => (StorageHealth.Failing, "permission denied"),
            "25006" => (StorageHealth.Failing, "database is read-only"),
            "57014" => (StorageHealth.Failing, "statement timed out"),
            _ when p.SqlState.StartsWith("08", StringComparison.Ordinal) => (StorageHealth.Unreachable, "database server unreachable"),
            _ => (StorageHealth.Failing, "database error"),
        },
        // The driver's own: the socket refused, reset or timed out, the stream ended mid-message.
        NpgsqlException or IOException or SocketException or TimeoutException => (StorageHealth.Unreachable, "database server unreachable"),
        FormatException => (StorageHealth.Failing, "corrupt row"),
        _ => (StorageHealth.Failing, "unexpected error"),
    };
}
