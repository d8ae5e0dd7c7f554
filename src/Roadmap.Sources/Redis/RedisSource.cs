using System.Net;
using System.Net.Sockets;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;
using StackExchange.Redis;

namespace Roadmap.Sources.Redis;

/// <summary>
/// One Redis server's cache counters. See <see cref="RedisSourceKind"/>. The connection is opened by the first poll and
/// kept between polls; a poll that finds it broken opens a fresh one (so it reports the server as it is now, and a down
/// server as "connection refused"), a failed poll closes it, and <see cref="DisposeAsync"/> closes it for good.
/// </summary>
/// <remarks>
/// hits and misses are increases, so a poll needs the counters of an earlier one: the first successful poll of a
/// source (after the process starts) has nothing to subtract from and succeeds with no samples. A failed poll keeps
/// the earlier counters, so the next success covers the whole gap.
/// </remarks>
public sealed class RedisSource : ISource
{
    // Off: ECHO (the handshake's tracer; without it PING is used, so an ACL user needs only +info +ping), and the
    // CLUSTER and CONFIG auto-configuration this source does not need (each NOPERM would land in the ACL LOG).
    private static readonly CommandMap Commands = CommandMap.Create(new HashSet<string> { "ECHO", "CLUSTER", "CONFIG" }, available: false);

    // The poll's own timeout decides "timeout": the library's connect timeout is set past it, so the library only
    // ever reports connect failures that are not timeouts.
    private static readonly TimeSpan ConnectGrace = TimeSpan.FromSeconds(1);

    private const string SimpleError = "SimpleError: ";

    private readonly SourceContext _context;
    private readonly RedisOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TlsClient? _tls;

    // What the TLS handshake of the current connect saw (why a certificate was refused).
    private ConnectionTrace _trace = new();
    private ConnectionMultiplexer? _connection;

    // The address the current connection was opened to: checked by the network policy, and the only one the library
    // is given, so it never resolves the name itself (no second lookup for DNS rebinding to change).
    private IPEndPoint? _server;
    private RedisStats? _previous;

    // The current poll is in the Redis (or TLS) handshake of a new connection: the TCP connect worked.
    private bool _handshaking;
    private bool _disposed;

    public RedisSource(SourceConfig config, SourceContext context)
    {
        Config = config;
        _context = context;
        _options = (RedisOptions)config.Options;
        _tls = _options.Tls
            ? new TlsClient(_options.TlsSettings ?? TlsSettings.Default, config.Id, context.Logs.CreateLogger(typeof(TlsClient).FullName!), context.Time)
            : null;
    }

    public SourceConfig Config { get; }

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var time = _context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(Config.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _gate.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return PollResult.Failed(TimeoutReason, time.GetElapsedTime(started));
        }

        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _handshaking = false;
            string info;
            try
            {
                info = await ReadStatsAsync(started, linked.Token);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException or SocketException or RedisException or NetworkDeniedException or TlsFilesException)
            {
                await DropConnectionAsync();
                var elapsed = time.GetElapsedTime(started);
                // The library's connect timeout is ours plus a grace; on a machine stalled past both, its failure can
                // come before our timer's: past our deadline it is still our timeout.
                var failure = e is RedisConnectionException { FailureType: ConnectionFailureType.UnableToConnect } && elapsed >= Config.Timeout
                    ? new TimeoutException()
                    : e;
                return PollResult.Failed(Describe(failure), elapsed);
            }

            if (!RedisInfo.TryParseStats(info, out var stats, out var problem))
            {
                return PollResult.Failed(problem, time.GetElapsedTime(started));
            }

            var samples = new List<Sample>(3);
            if (_previous is { } previous)
            {
                var increase = stats.IncreaseSince(previous);
                samples.Add(new(RedisSourceKind.Hits, increase.Hits));
                samples.Add(new(RedisSourceKind.Misses, increase.Misses));
                var lookups = increase.Hits + increase.Misses;
                if (lookups > 0)
                {
                    samples.Add(new(RedisSourceKind.HitRatio, (double)increase.Hits / lookups));
                }
            }

            _previous = stats;
            return PollResult.Ok(samples, time.GetElapsedTime(started));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            _disposed = true;
            await DropConnectionAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private string TimeoutReason => $"timeout after {Durations.Format(Config.Timeout)}";

    private async Task<string> ReadStatsAsync(long started, CancellationToken cancellationToken)
    {
        if (_connection is { IsConnected: true } kept)
        {
            try
            {
                return await ReadInfoAsync(kept, cancellationToken);
            }
            catch (RedisConnectionException) when (!cancellationToken.IsCancellationRequested)
            {
                // The kept connection died since the last poll (say, the server restarted) before the library noticed.
                // That says nothing about the server now: ask again on a fresh connection, which fails with the real
                // reason if the server is down.
            }
        }

        // A broken connection would reconnect by itself in the background; a fresh one fails now, with a reason.
        var connection = await ConnectAsync(started, cancellationToken);
        return await ReadInfoAsync(connection, cancellationToken);
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(long started, CancellationToken cancellationToken)
    {
        await DropConnectionAsync();

        // The library says only "UnableToConnect" when it cannot connect, and on a refused port it now and then waits
        // out its whole connect timeout (3.4.35: 3 connects in 40 here). A plain TCP connect first fails at once, with
        // a SocketException that names the cause (refused, DNS, unreachable); it costs one connect per reconnect.
        // The host is resolved here, through the network policy, and the library gets the address that connected.
        var addresses = await _context.Network.ResolveAsync(_options.Host, cancellationToken);
        IPEndPoint server;
        using (var probe = await GuardedConnect.ConnectSocketAsync(addresses, _options.Port, cancellationToken))
        {
            server = (IPEndPoint)probe.RemoteEndPoint!;
        }

        _server = server;
        if (_tls?.Problem() is { } tlsFiles)
        {
            throw new TlsFilesException(tlsFiles);
        }

        _trace = new ConnectionTrace();
        _handshaking = true;
        var remaining = Config.Timeout - _context.Time.GetElapsedTime(started);
        var connecting = ConnectionMultiplexer.ConnectAsync(Options(server, remaining + ConnectGrace));
        try
        {
            _connection = await connecting.WaitAsync(cancellationToken);
            _handshaking = false;
            return _connection;
        }
        catch (OperationCanceledException)
        {
            // Abandoned: whatever the connect yields later is closed, and its failure observed.
            _ = connecting.ContinueWith(
                static t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        t.Result.Dispose();
                    }
                    else
                    {
                        _ = t.Exception;
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
    }

    private async Task<string> ReadInfoAsync(ConnectionMultiplexer connection, CancellationToken cancellationToken)
    {
        var reading = connection.GetServer(_server!).InfoRawAsync("stats");
        try
        {
            return await reading.WaitAsync(cancellationToken) ?? "";
        }
        catch (OperationCanceledException)
        {
            _ = reading.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    private ConfigurationOptions Options(IPEndPoint server, TimeSpan connectTimeout) => new()
    {
        EndPoints = { server },
        User = _options.User,
        Password = _options.Password,
        Ssl = _options.Tls,
        SslHost = _options.Tls ? _options.Host : null,
        // The tls block's handshake (TlsClient): its CA, client certificate, server name and versions; the files are
        // read again when they change. The name checked is the configured host, never the address connected to.
        SslClientAuthenticationOptions = _tls is null ? null : _ => _tls.Options(_options.Host, _trace),
        ClientName = "roadmap",
        AbortOnConnectFail = true,
        ConnectRetry = 1,
        ConnectTimeout = Milliseconds(connectTimeout),
        SyncTimeout = Milliseconds(Config.Timeout),
        AsyncTimeout = Milliseconds(Config.Timeout),

        // Disconnected: fail the command at once rather than queue it until the timeout.
        BacklogPolicy = BacklogPolicy.FailFast,
        // StackExchange.Redis files INFO under admin commands; this source sends nothing else.
        AllowAdmin = true,
        CommandMap = Commands,

        // No pub/sub channel and no tie-breaker key: the tie-breaker is a GET that would count as a keyspace miss.
        ConfigurationChannel = "",
        TieBreaker = "",
    };

    private static int Milliseconds(TimeSpan t) => (int)Math.Clamp(Math.Ceiling(t.TotalMilliseconds), 1, int.MaxValue);

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;

            // Dispose alone lets pending commands finish first: a hung INFO would hold the poll for another timeout.
            await connection.CloseAsync(allowCommandsToComplete: false);
            await connection.DisposeAsync();
        }
    }

    /// <summary>A failure in words for an operator. Never quotes the password.</summary>
    private string Describe(Exception e) => e switch
    {
        // The library retries a refused handshake until its timeout and then says only that; our check knows why.
        _ when _handshaking && _trace.Rejection is { } refused => $"TLS handshake failed: {refused}",
        OperationCanceledException or TimeoutException or RedisTimeoutException when _handshaking => $"{TimeoutReason}: {HandshakeFailed("did not finish")}",
        OperationCanceledException or TimeoutException or RedisTimeoutException => TimeoutReason,
        SocketException s => Describe(s),
        NetworkDeniedException or TlsFilesException => e.Message,
        RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } => DescribeAuthentication(e),
        RedisConnectionException c when Find<SocketException>(c) is { } s => Describe(s),
        RedisConnectionException c when ServerError(c) is { } said => $"could not connect: the server said \"{said}\"",

        // The TCP connect before it worked: what failed is TLS or the Redis handshake.
        RedisConnectionException { FailureType: ConnectionFailureType.UnableToConnect } => $"could not connect: {HandshakeFailed("failed")}",
        RedisConnectionException c => $"connection failed ({InnermostFailure(c)})",
        RedisServerException when Mentions(e, "WRONGPASS") || Mentions(e, "NOAUTH") => DescribeAuthentication(e),
        RedisServerException => $"INFO stats failed: {FirstClause(e.Message)}",
        _ => $"redis error: {FirstClause(e.Message)}",
    };

    private string HandshakeFailed(string how) => _options.Tls
        ? $"the server accepted the connection, but the TLS or Redis handshake {how} (does it speak TLS?)"
        : $"the server accepted the connection, but the Redis handshake {how} (is it Redis? does it want tls: true?)";

    /// <summary>The error a server replied with, somewhere in the chain; null when none.</summary>
    private string? ServerError(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is RedisServerException || x.Message.StartsWith(SimpleError, StringComparison.Ordinal))
            {
                return FirstClause(x.Message);
            }
        }

        return null;
    }

    private string DescribeAuthentication(Exception e)
    {
        if (Mentions(e, "WRONGPASS"))
        {
            return _options.User is null ? "authentication failed: wrong password (WRONGPASS)" : "authentication failed: wrong user or password, or the user is disabled (WRONGPASS)";
        }

        return Mentions(e, "NOAUTH") && _options.Password is null
            ? "authentication failed: the server wants a password and none is set (NOAUTH)"
            : "authentication failed";
    }

    private static string Describe(SocketException s) => NetworkErrors.Describe(s);

    private static string InnermostFailure(RedisConnectionException e)
    {
        var failure = e.FailureType;
        for (var x = e.InnerException; x is not null; x = x.InnerException)
        {
            if (x is RedisConnectionException inner)
            {
                failure = inner.FailureType;
            }
        }

        return failure == ConnectionFailureType.SocketClosed ? "the connection was closed" : failure.ToString();
    }

    private static bool Mentions(Exception e, string code)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x.Message.Contains(code, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static T? Find<T>(Exception e)
        where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is T t)
            {
                return t;
            }
        }

        return null;
    }

    // The library appends its diagnostics (queue lengths, thread pool state) after the first comma. What is left is
    // the server's or the library's words; the config's secrets are masked in case a message ever echoes them.
    private string FirstClause(string message)
    {
        var text = message.StartsWith(SimpleError, StringComparison.Ordinal) ? message[SimpleError.Length..] : message;
        var comma = text.IndexOf(", ", StringComparison.Ordinal);
        text = (comma < 0 ? text : text[..comma]).Trim();
        return Config.Redact(text)!;
    }
}
