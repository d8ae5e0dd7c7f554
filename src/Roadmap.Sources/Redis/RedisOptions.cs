using System.Globalization;
using System.Text;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Redis;

/// <summary>The keys of a redis source.</summary>
/// <param name="Host">From <c>address</c>: a host name or an IP address (IPv6 without its brackets).</param>
/// <param name="Port">From <c>address</c>: 1 to 65535.</param>
/// <param name="User">A Redis 6+ ACL user; null: the default user (password-only AUTH).</param>
/// <param name="Password">null: no AUTH. Never printed: <see cref="ToString"/> masks it.</param>
/// <param name="Tls">Connect with TLS, checking the server's certificate against <see cref="Host"/>. Default false.</param>
public sealed record RedisOptions(string Host, int Port, string? User, string? Password, bool Tls)
{
    /// <summary>With <see cref="Tls"/>: the <c>tls</c> block (a private CA, a client certificate, ...); null: the system's defaults.</summary>
    public TlsSettings? TlsSettings { get; init; }

    /// <summary>host:port, with an IPv6 address in brackets.</summary>
    public string Address => HostPort.Format(Host, Port);

    /// <summary>Splits <c>host:port</c> (or <c>[v6]:port</c>); on failure says what is wrong, in words for a config error.</summary>
    public static bool TryParseAddress(string text, out string host, out int port, out string problem) =>
        HostPort.TryParse(text, defaultPort: null, "127.0.0.1:6379", out host, out port, out problem);

    // A record prints every property, and options end up in logs and test output: the password must not.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Host = {Host}, Port = {Port}, User = {User}, ");
        builder.Append(CultureInfo.InvariantCulture, $"Password = {(Password is null ? "" : "*****")}, Tls = {Tls}, TlsSettings = {TlsSettings}");
        return true;
    }
}
