using StackExchange.Redis;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>
/// A real redis-server on a free loopback port, with a temp dir and no persistence; killed (and its dir deleted) on
/// Dispose. Commands from the test go through a separate admin connection that itself makes no keyspace lookups.
/// </summary>
public sealed class RedisServer : IDisposable
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-redis-" + Guid.NewGuid().ToString("N"));
    private readonly string? _requirePass;
    private readonly IReadOnlyList<string> _extraArguments;
    private Process? _process;
    private ConnectionMultiplexer? _admin;

    /// <param name="requirePass">The default user's password (<c>--requirepass</c>); null: none.</param>
    /// <param name="extraArguments">More arguments for redis-server, e.g. a TLS port and its files.</param>
    public RedisServer(string? requirePass = null, IReadOnlyList<string>? extraArguments = null)
    {
        _requirePass = requirePass;
        _extraArguments = extraArguments ?? [];
        Directory.CreateDirectory(_dir);
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                Start();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The free port was taken between finding it and binding it: try another.
            }
        }
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers PING.</summary>
    public void Start()
    {
        var start = new ProcessStartInfo(Executable) { UseShellExecute = false };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _dir, "--logfile", Path.Combine(_dir, "redis.log") })
        {
            start.ArgumentList.Add(arg);
        }

        if (_requirePass is not null)
        {
            start.ArgumentList.Add("--requirepass");
            start.ArgumentList.Add(_requirePass);
        }

        foreach (var arg in _extraArguments)
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        var deadline = Stopwatch.StartNew();
        while (!AnswersPing())
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                Stop();
                throw new InvalidOperationException($"redis-server on port {Port} did not answer PING: {Log()}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>Kills the server (as a crash would) and waits until it is gone. Its counters die with it.</summary>
    public void Stop()
    {
        _admin?.Dispose();
        _admin = null;
        if (_process is { } process)
        {
            _process = null;
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.WaitForExit();
            process.Dispose();
        }
    }

    /// <summary>A restart: every counter starts again from zero.</summary>
    public void Restart()
    {
        Stop();
        Start();
    }

    /// <summary>Runs one command as the default user, e.g. <c>RunAsync("CONFIG", "RESETSTAT")</c>.</summary>
    public async Task<RedisResult> RunAsync(string command, params object[] args)
    {
        _admin ??= await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { { IPAddress.Loopback, Port } },
            Password = _requirePass,
            AllowAdmin = true,
            ClientName = "test-admin",

            // The tie-breaker is a GET: it would count as a keyspace miss.
            TieBreaker = "",
            ConfigurationChannel = "",
        });
        return await _admin.GetDatabase().ExecuteAsync(command, args);
    }

    /// <summary>Makes exactly <paramref name="hits"/> keyspace hits and <paramref name="misses"/> misses.</summary>
    public async Task LookUpAsync(int hits, int misses)
    {
        await RunAsync("SET", "present", "1");
        for (var i = 0; i < hits; i++)
        {
            Assert.Equal("1", (string?)await RunAsync("GET", "present"));
        }

        for (var i = 0; i < misses; i++)
        {
            Assert.True((await RunAsync("GET", $"absent-{i}")).IsNull);
        }
    }

    /// <summary>The ids of the clients connected under <paramref name="name"/>.</summary>
    public async Task<List<string>> ClientIdsAsync(string name)
    {
        var list = (string?)await RunAsync("CLIENT", "LIST") ?? "";
        return list.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ').Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]))
            .Where(fields => fields.GetValueOrDefault("name") == name)
            .Select(fields => fields["id"])
            .ToList();
    }

    public void Dispose()
    {
        Stop();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A loopback port free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private bool AnswersPing()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            using var stream = client.GetStream();
            stream.ReadTimeout = 1000;
            stream.Write("PING\r\n"u8);
            var buffer = new byte[64];
            var n = stream.Read(buffer);

            // +PONG, or -NOAUTH from a server with a password: either way it answers.
            return n > 0 && buffer[0] is (byte)'+' or (byte)'-';
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    private string Log()
    {
        var path = Path.Combine(_dir, "redis.log");
        return File.Exists(path) ? File.ReadAllText(path, Encoding.UTF8) : "(no log)";
    }
}

/// <summary>One plain redis-server shared by the tests of a class (xUnit runs them one at a time).</summary>
public sealed class RedisServerFixture : IDisposable
{
    public RedisServer Server { get; } = new();

    public void Dispose() => Server.Dispose();
}

/// <summary>One redis-server whose default user has the password <see cref="Password"/>.</summary>
public sealed class PasswordRedisServerFixture : IDisposable
{
    public const string Password = "default-s3cret";

    public RedisServer Server { get; } = new(Password);

    public void Dispose() => Server.Dispose();
}
