using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tests.Network;

/// <summary>Network policies read from YAML through the real loader, and sources created under them.</summary>
internal static class Networks
{
    /// <summary>
    /// The policy of a config whose <c>settings.network</c> holds <paramref name="network"/> (YAML lines at the
    /// mapping's indent; empty: the key is absent). <paramref name="names"/> stand in for DNS: a name missing from it
    /// fails the lookup as an unknown host would; localhost resolves for real.
    /// </summary>
    public static NetworkPolicy Policy(string network = "", IReadOnlyDictionary<string, string[]>? names = null, List<string>? lookups = null)
    {
        var body = string.Join('\n', network.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l));
        var yaml = network.Length == 0 ? "roadmap: {name: x}\n" : $"roadmap: {{name: x}}\nsettings:\n  network:\n{body}\n";
        var result = new ConfigLoader(SourceKinds.All, _ => null).Load(yaml, TestConfigs.File);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return new NetworkPolicy(result.Config!.Settings.Network, names is null ? null : Resolver(names, lookups));
    }

    public static Func<string, CancellationToken, Task<IPAddress[]>> Resolver(IReadOnlyDictionary<string, string[]> names, List<string>? lookups = null) =>
        (host, cancellationToken) =>
        {
            lookups?.Add(host);
            if (names.TryGetValue(host, out var addresses))
            {
                return Task.FromResult(addresses.Select(IPAddress.Parse).ToArray());
            }

            // WireMock's URL names localhost: that one resolves for real.
            return host == "localhost" ? Dns.GetHostAddressesAsync(host, cancellationToken) : Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound));
        };

    public static SourceContext Context(NetworkPolicy policy) => new(TimeProvider.System, NullLoggerFactory.Instance, policy);

    /// <summary>A source from its YAML list item, created by its kind under <paramref name="policy"/>.</summary>
    public static ISource Create(string source, NetworkPolicy policy)
    {
        var config = TestConfigs.Source(source);
        return SourceKinds.Get(config.Kind).Create(config, Context(policy));
    }

    public static async Task<PollResult> PollOnceAsync(string source, NetworkPolicy policy)
    {
        await using var created = Create(source, policy);
        return await created.PollAsync(CancellationToken.None);
    }
}

/// <summary>
/// A loopback port that would record any connection: a listener nobody accepts on, so a completed TCP connect waits
/// in its backlog and <see cref="Touched"/> sees it. For "denied before connecting".
/// </summary>
internal sealed class UntouchedPort : IDisposable
{
    private readonly TcpListener _listener;

    /// <param name="address">Where to listen; default 127.0.0.1.</param>
    public UntouchedPort(IPAddress? address = null)
    {
        _listener = new(address ?? IPAddress.Loopback, 0);
        _listener.Start();
    }

    /// <summary>A port on ::1; on 127.0.0.1 where this host has no IPv6 loopback (then nothing can reach it over IPv6).</summary>
    public static UntouchedPort OnIPv6LoopbackIfAny()
    {
        try
        {
            return new UntouchedPort(IPAddress.IPv6Loopback);
        }
        catch (SocketException)
        {
            return new UntouchedPort();
        }
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Whether a client connected (the kernel completed a handshake on the port).</summary>
    public bool Touched => _listener.Pending();

    public void Dispose() => _listener.Stop();
}
