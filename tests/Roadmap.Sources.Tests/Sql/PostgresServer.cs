using Npgsql;

namespace Roadmap.Sources.Tests.Sql;

/// <summary>
/// A real PostgreSQL server for one test class: initdb into a temp dir, listening on 127.0.0.1 on a free port with
/// scram-sha-256 password auth for user <see cref="User"/>, its unix socket in the same dir; stopped and deleted on
/// Dispose. initdb refuses to run as root, so as root (CI) the server runs as the postgres OS user.
/// </summary>
/// <remarks>
/// Started and stopped asynchronously: xUnit runs tests on as many threads as the machine has cores, and a fixture
/// that blocked one for the seconds initdb takes made other tests' timeouts fire seconds late in CI.
/// </remarks>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string User = "roadmap";
    public const string Password = "pg-test-Secret-7";
    public const string Database = "postgres";

    private static readonly TimeSpan CommandLimit = TimeSpan.FromSeconds(60);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-pg-" + Guid.NewGuid().ToString("N"));
    private readonly string _bin;
    private readonly bool _asPostgres = Environment.IsPrivilegedProcess;
    private bool _started;
    private string _options = "";

    private readonly Func<string, string>? _prepare;

    public PostgresServer()
        : this(null)
    {
    }

    /// <param name="prepare">Writes files into the server's folder (given) before it is handed to the server's user, and
    /// returns more server options (e.g. <c>-c ssl=on ...</c>); null: none.</param>
    internal PostgresServer(Func<string, string>? prepare)
    {
        _bin = FindBinaries();
        _prepare = prepare;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        try
        {
            var passwordFile = Path.Combine(_dir, "pwfile");
            await File.WriteAllTextAsync(passwordFile, Password + "\n");
            var extra = _prepare?.Invoke(_dir) is { } more ? " " + more : "";
            if (_asPostgres)
            {
                await RunAsync("chown", ["-R", "postgres:", _dir], asPostgres: false);
            }

            await RunAsync(Path.Combine(_bin, "initdb"), ["-D", DataDir, "-U", User, "-A", "scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8", "--no-locale", "--no-sync"]);
            Port = FreePort();
            // fsync off: a throwaway server. The options go through pg_ctl's shell, so the dir is quoted.
            _options = $"-h 127.0.0.1 -p {Port} -k '{_dir}' -c fsync=off -c full_page_writes=off -c synchronous_commit=off{extra}";
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public int Port { get; private set; }

    /// <summary>Stops the server (fast shutdown: open sessions are ended), keeping its data and port for <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        _started = false;
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
    }

    /// <summary>Starts the server (again) on its port, and waits until a login succeeds.</summary>
    public async Task StartAsync()
    {
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-o", _options, "-l", LogFile, "-w", "-t", "60", "start"]);
        _started = true;
        await WaitUntilAcceptingConnectionsAsync();
    }

    /// <summary>A connection string for the server, with the right password unless told otherwise.</summary>
    public string ConnectionString(string password = Password, string extra = "") =>
        $"Host=127.0.0.1;Port={Port};Database={Database};Username={User};Password={password}" + (extra.Length == 0 ? "" : ";" + extra);

    private string DataDir => Path.Combine(_dir, "data");

    private string LogFile => Path.Combine(_dir, "server.log");

    /// <summary>Runs SQL as the test's own client (not through a source).</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(extra: "Pooling=false"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public async Task DisposeAsync()
    {
        if (_started)
        {
            _started = false;
            try
            {
                await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-m", "immediate", "-w", "stop"]);
            }
            catch (InvalidOperationException)
            {
                // Already gone; the dir is deleted below either way.
            }
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private async Task WaitUntilAcceptingConnectionsAsync()
    {
        // pg_ctl -w waits for "ready"; a real login proves the port, the auth method and the password too.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var one = await ScalarAsync("SELECT 1");
                if (Convert.ToInt32(one, System.Globalization.CultureInfo.InvariantCulture) == 1)
                {
                    return;
                }
            }
            catch (NpgsqlException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
            catch (NpgsqlException e)
            {
                throw new InvalidOperationException($"PostgreSQL on port {Port} does not accept connections: {e.Message}\n{ReadLog()}", e);
            }
        }
    }

    private string ReadLog() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no server log)";

    private async Task RunAsync(string file, IReadOnlyList<string> arguments, bool? asPostgres = null)
    {
        var info = (asPostgres ?? _asPostgres)
            ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", file, .. arguments])
            : new ProcessStartInfo(file, arguments);
        // The postgres user may not be able to enter the test's working directory (e.g. under /root).
        info.WorkingDirectory = _dir;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var limit = new CancellationTokenSource(CommandLimit))
        {
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"{Path.GetFileName(file)} did not finish within {CommandLimit}");
            }
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}\n{ReadLog()}");
        }
    }

    private static string FindBinaries()
    {
        // Debian's layout: /usr/lib/postgresql/<major>/bin; the newest major wins.
        const string root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(d => (Dir: Path.Combine(d, "bin"), Major: int.TryParse(Path.GetFileName(d), out var m) ? m : -1))
                .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")))
                .OrderByDescending(d => d.Major)
                .Select(d => d.Dir)
                .FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install the postgresql package; scripts/test.sh does)");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
