using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.DnsProbe;

/// <summary>The keys of a dns source.</summary>
/// <param name="ServerHost">From <c>server</c>: a host name or an IP address (IPv6 without its brackets).</param>
/// <param name="ServerPort">From <c>server</c>; default 53.</param>
/// <param name="Name">The name asked for, as configured (a final dot or not).</param>
/// <param name="Type">The record type asked for, e.g. <c>A</c>; default A.</param>
/// <param name="ExpectRcodes">The response codes that count as up, by name; default NOERROR alone.</param>
/// <param name="ExpectAnswer">A regular expression that must match the whole of some answer of <see cref="Type"/>
/// for the probe to be up; null: the answers are not checked.</param>
public sealed record DnsOptions(string ServerHost, int ServerPort, string Name, string Type, IReadOnlyList<string> ExpectRcodes, string? ExpectAnswer)
{
    /// <summary>The DNS port: 53.</summary>
    public const int DefaultPort = 53;

    /// <summary>host:port of the server, with an IPv6 address in brackets.</summary>
    public string Server => HostPort.Format(ServerHost, ServerPort);

    /// <summary>Value equality, the expected codes included (a reload keeps an unchanged source).</summary>
    public bool Equals(DnsOptions? other) =>
        other is not null && ServerHost == other.ServerHost && ServerPort == other.ServerPort && Name == other.Name && Type == other.Type
        && ConfigEquality.Same(ExpectRcodes, other.ExpectRcodes) && ExpectAnswer == other.ExpectAnswer;

    public override int GetHashCode() => HashCode.Combine(ServerHost, ServerPort, Name, Type, ConfigEquality.Hash(ExpectRcodes), ExpectAnswer);
}
