namespace Roadmap.Worker.Cli;

/// <summary>A parsed command line: the verb and its --options. Unknown verbs and options are usage errors.</summary>
public sealed record CommandLine(string Verb, IReadOnlyDictionary<string, string> Options)
{
    public static readonly IReadOnlyDictionary<string, string[]> VerbOptions = new Dictionary<string, string[]>
    {
        ["run"] = ["config", "database", "urls", "instance-id"],
        ["validate"] = ["config"],
        ["check"] = ["config"],
        ["report"] = ["config", "database", "format", "since"],
        ["schema"] = ["format"],
        ["copy-storage"] = ["from", "to", "to-connection-string-file", "quiet"],
    };

    /// <summary>Options that take no value (present or not); the parser stores "true" for them.</summary>
    public static readonly IReadOnlySet<string> Flags = new HashSet<string>(StringComparer.Ordinal) { "quiet" };

    public const string Usage = """
        usage: Roadmap.Worker [VERB] [OPTIONS]

          run       [--config PATH] [--database PATH] [--urls URLS] [--instance-id ID]
                                                                      the service (the default verb)
          validate  [--config PATH]                                   check the config; exit 0, or 2 with every error
          check     [--config PATH]                                   poll every source once; exit 1 if any failed
          report    [--config PATH] [--database PATH] [--format FORMAT] [--since DATE]
                                                                      the roadmap table, judged on the stored samples;
                                                                      with --since, what changed since DATE first
          schema    [--format json|markdown]                          the config's JSON Schema (or README's key tables)
          copy-storage --from PATH --to PATH|postgres [--to-connection-string-file PATH] [--quiet]
                                                                      copy the stored history into another store,
                                                                      resumably; exit 0 once counts and checksums match

          --config PATH    the roadmap file (default config/roadmap.yaml)
          --database PATH  the SQLite file (default data/roadmap.db); not with settings.storage.kind postgres
          --urls URLS      where to listen, e.g. http://127.0.0.1:9810 (default; or ASPNETCORE_URLS)
          --instance-id ID this replica's name, unique in a cluster (default ROADMAP_INSTANCE_ID, else the host name)
          --format FORMAT  markdown (default), html or json
          --since DATE     YYYY-MM-DD (from the start of that day in settings.timezone) or an ISO-8601 instant
                           (schema: json, the default, or markdown)
          --from PATH      copy-storage: the SQLite file to copy (read only, never changed)
          --to PATH        copy-storage: the SQLite file to copy into (created if missing), or postgres
          --to-connection-string-file PATH
                           copy-storage --to postgres: the file holding the connection string (default: the
                           variable ROADMAP_STORAGE_CONNECTION_STRING)
          --quiet          copy-storage: no progress lines

        exit codes: 0 ok, 1 runtime failure, 2 bad config or usage
        """;

    /// <summary>Parses; on failure returns null with the reason.</summary>
    public static CommandLine? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        var i = 0;
        var verb = "run";
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            verb = args[0];
            i = 1;
        }

        if (!VerbOptions.TryGetValue(verb, out var allowed))
        {
            error = $"unknown verb \"{verb}\"";
            return null;
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"unexpected argument \"{arg}\"";
                return null;
            }

            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (!allowed.Contains(name))
            {
                error = $"unknown option --{name} for {verb}";
                return null;
            }

            if (Flags.Contains(name))
            {
                if (value is not null)
                {
                    error = $"option --{name} takes no value";
                    return null;
                }

                options[name] = "true";
                continue;
            }

            if (value is null && i + 1 < args.Count)
            {
                value = args[++i];
            }

            // An empty value is what "--config=$UNSET" gives a script: say so, rather than read the path "".
            if (string.IsNullOrWhiteSpace(value))
            {
                error = $"option --{name} needs a value";
                return null;
            }

            options[name] = value;
        }

        return new CommandLine(verb, options);
    }
}
