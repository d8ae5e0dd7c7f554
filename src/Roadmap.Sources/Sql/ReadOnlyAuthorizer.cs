using SQLitePCL;

namespace Roadmap.Sources.Sql;

/// <summary>
/// SQLite's authorizer (sqlite3_set_authorizer) for the sqlite provider: at prepare time it allows reading and nothing
/// else, so a query can create no file (VACUUM INTO, ATTACH), change none (INSERT, CREATE, ...), open no transaction
/// that could outlive it (BEGIN, SAVEPOINT), and set nothing that outlives the connection or reaches the process
/// (PRAGMA). An instance is the user data of one source's connections and remembers what it refused, for the reason.
/// </summary>
internal sealed class ReadOnlyAuthorizer
{
    /// <summary>
    /// Pragmas a query may read, only without an argument (with one, most of them set something): the size and
    /// version counters a KPI might watch. Read as <c>PRAGMA page_count</c> or <c>SELECT * FROM pragma_page_count</c>.
    /// </summary>
    public static readonly IReadOnlySet<string> ReadablePragmas = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "application_id", "data_version", "freelist_count", "page_count", "page_size", "schema_version", "user_version",
    };

    private volatile string? _refused;

    /// <summary>What was refused since <see cref="Clear"/>, in words (the statement kind); null when nothing.</summary>
    public string? Refused => _refused;

    public void Clear() => _refused = null;

    /// <summary>The authorizer callback; <paramref name="userData"/> is the <see cref="ReadOnlyAuthorizer"/>.</summary>
    /// <returns><see cref="raw.SQLITE_OK"/> to allow, <see cref="raw.SQLITE_DENY"/> to fail the statement.</returns>
    public static int Authorize(object userData, int actionCode, utf8z param0, utf8z param1, utf8z database, utf8z triggerOrView)
    {
        var refused = actionCode switch
        {
            raw.SQLITE_SELECT or raw.SQLITE_READ or raw.SQLITE_RECURSIVE => null,
            // load_extension is off in Microsoft.Data.Sqlite unless asked for; refuse it here too, whatever the build.
            raw.SQLITE_FUNCTION => param1.utf8_to_string() is "load_extension" ? "load_extension()" : null,
            raw.SQLITE_PRAGMA => Pragma(param0.utf8_to_string(), param1.utf8_to_string()),
            raw.SQLITE_TRANSACTION or raw.SQLITE_SAVEPOINT => "a transaction (BEGIN, COMMIT, ROLLBACK, SAVEPOINT)",
            // VACUUM (and VACUUM INTO) attaches its target: it is refused as an ATTACH.
            raw.SQLITE_ATTACH or raw.SQLITE_DETACH => "ATTACH, DETACH or VACUUM",
            raw.SQLITE_INSERT => "INSERT",
            raw.SQLITE_UPDATE => "UPDATE",
            raw.SQLITE_DELETE => "DELETE",
            _ => "a statement that changes the schema (CREATE, DROP, ALTER, ANALYZE, REINDEX)",
        };
        if (refused is null)
        {
            return raw.SQLITE_OK;
        }

        ((ReadOnlyAuthorizer)userData)._refused ??= refused;
        return raw.SQLITE_DENY;
    }

    /// <summary>Null when pragma <paramref name="name"/> may be read; what is refused otherwise.</summary>
    /// <param name="argument">Its argument or value; null when it has none (a NULL pointer, not an empty string).</param>
    private static string? Pragma(string? name, string? argument) =>
        argument is null && name is not null && ReadablePragmas.Contains(name) ? null : $"PRAGMA {name}";
}
