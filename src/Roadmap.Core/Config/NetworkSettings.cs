using System.Net;

namespace Roadmap.Core.Config;

/// <summary>
/// <c>settings.network</c>: which addresses sources may connect to, and how many redirects they follow. Targets come
/// only from the config, but a target's name can resolve, or a server can redirect, anywhere: the deny list keeps
/// sources off the cloud metadata service and other link-local addresses whatever a name or redirect says.
/// </summary>
/// <param name="Deny">Networks no source connects to (checked on the resolved address of every connection and every
/// redirect hop). Default <see cref="DefaultDeny"/>; setting <c>deny</c> replaces that list (<c>deny: []</c>: none).</param>
/// <param name="Allow">Networks that are reachable even when a deny entry covers them. Default empty.</param>
/// <param name="MaxRedirects">Redirects followed at most per request, 0 to 20; 0: none is followed. Default 5.</param>
public sealed record NetworkSettings(IReadOnlyList<IPNetwork> Deny, IReadOnlyList<IPNetwork> Allow, int MaxRedirects)
{
    /// <summary>Default for <see cref="MaxRedirects"/>.</summary>
    public const int DefaultMaxRedirects = 5;

    /// <summary>The largest <see cref="MaxRedirects"/> accepted: browsers stop near 20.</summary>
    public const int MaxRedirectsLimit = 20;

    /// <summary>
    /// Link-local in both families: 169.254.0.0/16 (AWS, GCP, Azure and OCI metadata at 169.254.169.254, ECS task
    /// metadata at 169.254.170.2) and fe80::/10 (IPv6 link-local, the same role); plus fd00:ec2::254/128, the AWS
    /// metadata service over IPv6. Nothing a KPI source should be on is link-local.
    /// </summary>
    public static readonly IReadOnlyList<IPNetwork> DefaultDeny =
    [
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fd00:ec2::254/128"),
    ];

    /// <summary>The settings when the config has no <c>settings.network</c>.</summary>
    public static readonly NetworkSettings Default = new(DefaultDeny, [], DefaultMaxRedirects);

    /// <summary>Value equality: the address lists compare element by element (a record's own Equals compares them by reference).</summary>
    public bool Equals(NetworkSettings? other) =>
        other is not null && MaxRedirects == other.MaxRedirects && ConfigEquality.Same(Deny, other.Deny) && ConfigEquality.Same(Allow, other.Allow);

    public override int GetHashCode() => HashCode.Combine(MaxRedirects, ConfigEquality.Hash(Deny), ConfigEquality.Hash(Allow));

    /// <summary>
    /// Reads one CIDR (<c>10.0.0.0/8</c>, <c>fd00::/8</c>) or a bare address (a /32 or /128). On failure says why, in
    /// words for a config error.
    /// </summary>
    public static bool TryParseCidr(string text, out IPNetwork network, out string problem)
    {
        network = default;
        problem = "";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%', StringComparison.Ordinal))
        {
            problem = "expected an address with a prefix length, e.g. 10.0.0.0/8 or fd00::/8";
            return false;
        }

        var bits = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        var prefix = bits;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            problem = $"the prefix length must be a number from 0 to {bits}";
            return false;
        }

        // Bits set past the prefix (10.1.2.3/8) are refused, not masked: it is probably a typo for 10.0.0.0/8 or for
        // 10.1.2.3/32, and guessing which would widen or narrow a deny list silently.
        var masked = Mask(address, prefix);
        if (!masked.Equals(address))
        {
            problem = $"the address has bits set past the /{prefix} prefix: did you mean {new IPNetwork(masked, prefix)}?";
            return false;
        }

        network = new IPNetwork(address, prefix);
        return true;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }
}
