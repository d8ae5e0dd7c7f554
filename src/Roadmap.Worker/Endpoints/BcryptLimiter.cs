using System.Net;
using System.Net.Sockets;

namespace Roadmap.Worker.Endpoints;

/// <summary>
/// Bounds bcrypt work per client and overall, so that one client's flood of wrong passwords costs that client, not
/// the others: each client (remote address) verifies one password at a time with at most <see cref="PerClientQueue"/>
/// more waiting, and beyond that is turned away at once, without hashing; all clients together verify at most
/// <see cref="GlobalConcurrency"/> at a time, at least two. A client waits for a global slot with at most one
/// verification, and those waits are served first come, first served: so one flooding client always leaves a slot
/// free, and under many a new client waits for at most one verification per client already verifying, however many
/// requests each of them has sent.
/// </summary>
/// <remarks>
/// The client is the TCP peer's address; <c>X-Forwarded-For</c> is not trusted (anyone can write it). Behind a reverse
/// proxy every client therefore shares the proxy's bound. IPv6 addresses count per /64, the block one host usually
/// holds, so a host cannot take a bound per address of its block.
/// </remarks>
public sealed class BcryptLimiter : IDisposable
{
    /// <summary>Verifications of one client that may wait while one of its runs: 2.</summary>
    public const int PerClientQueue = 2;

    private readonly SemaphoreSlim _global;
    private readonly Dictionary<string, Client> _clients = new(StringComparer.Ordinal);

    /// <param name="globalConcurrency">Verifications at once over all clients; default half the cores, at least two.</param>
    public BcryptLimiter(int? globalConcurrency = null)
    {
        GlobalConcurrency = globalConcurrency ?? Math.Max(2, Environment.ProcessorCount / 2);
        _global = new SemaphoreSlim(GlobalConcurrency, GlobalConcurrency);
    }

    /// <summary>Verifications at once over all clients.</summary>
    public int GlobalConcurrency { get; }

    /// <summary>Clients with a verification running or waiting now (for tests).</summary>
    internal int ClientCount
    {
        get
        {
            lock (_clients)
            {
                return _clients.Count;
            }
        }
    }

    /// <summary>The key a remote address is counted under: the IPv4 address (IPv4-mapped ones too), or the IPv6 /64.</summary>
    public static string ClientKey(IPAddress? address)
    {
        if (address is null)
        {
            return "";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <summary>
    /// Waits for <paramref name="client"/>'s turn and a global slot; the lease returned gives both back when disposed.
    /// Null at once, without waiting, when the client already has one verification running and
    /// <see cref="PerClientQueue"/> waiting.
    /// </summary>
    public async ValueTask<IDisposable?> EnterAsync(string client, CancellationToken ct)
    {
        Client entry;
        lock (_clients)
        {
            if (!_clients.TryGetValue(client, out entry!))
            {
                entry = new Client();
                _clients.Add(client, entry);
            }

            if (entry.InFlight > PerClientQueue)
            {
                return null;
            }

            entry.InFlight++;
        }

        try
        {
            // The client's turn first, then the global slot: so a client never holds more than one place in the
            // global queue, and the others' waits do not grow with its flood.
            await entry.Turn.WaitAsync(ct);
            try
            {
                await _global.WaitAsync(ct);
            }
            catch
            {
                entry.Turn.Release();
                throw;
            }
        }
        catch
        {
            Leave(client, entry);
            throw;
        }

        return new Lease(this, client, entry);
    }

    public void Dispose()
    {
        _global.Dispose();
        lock (_clients)
        {
            foreach (var entry in _clients.Values)
            {
                entry.Dispose();
            }

            _clients.Clear();
        }
    }

    private void Leave(string client, Client entry)
    {
        lock (_clients)
        {
            // Forgotten when idle: the table holds only clients with a verification running or waiting.
            if (--entry.InFlight == 0 && _clients.Remove(client))
            {
                entry.Dispose();
            }
        }
    }

    private sealed class Client : IDisposable
    {
        public SemaphoreSlim Turn { get; } = new(1, 1);

        /// <summary>Verifications running or waiting; changed under the table's lock.</summary>
        public int InFlight { get; set; }

        public void Dispose() => Turn.Dispose();
    }

    private sealed class Lease(BcryptLimiter owner, string client, Client entry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner._global.Release();
                entry.Turn.Release();
                owner.Leave(client, entry);
            }
        }
    }
}
