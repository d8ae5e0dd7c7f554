using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>
/// The redis kind's tls block against a real redis-server with a TLS port (Debian's is built with TLS), a private CA
/// and a demand for client certificates: the block's CA, client certificate and server name reach the library's handshake.
/// </summary>
public sealed class RedisSourceTlsTests : IDisposable
{
    private readonly TestCertificates _files = new();
    private readonly string _caFile;
    private readonly string _certFile;
    private readonly string _keyFile;
    private readonly int _tlsPort = RedisServer.FreePort();
    private readonly RedisServer _server;
    private readonly Roadmap.Sources.Network.NetworkPolicy _policy =
        Networks.Policy("", new Dictionary<string, string[]> { ["redis.test"] = ["127.0.0.1"], ["other.test"] = ["127.0.0.1"] });

    public RedisSourceTlsTests()
    {
        var ca = TestCertificates.Authority("Redis CA");
        var serverCertificate = TestCertificates.Leaf(ca, ["redis.test"]);
        var clientCa = TestCertificates.Authority("Redis Client CA");
        var client = TestCertificates.Leaf(clientCa, ["roadmap"], client: true);
        _caFile = _files.WriteCertificates("ca.pem", ca);
        _certFile = _files.WriteCertificates("client.pem", client);
        _keyFile = _files.WriteKey("client-key.pem", client);
        _server = new RedisServer(extraArguments:
        [
            "--tls-port", _tlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tls-cert-file", _files.WriteCertificates("server.pem", serverCertificate),
            "--tls-key-file", _files.WriteKey("server-key.pem", serverCertificate),
            "--tls-ca-cert-file", _files.WriteCertificates("client-ca.pem", clientCa),
            "--tls-auth-clients", "yes",
        ]);
    }

    public void Dispose()
    {
        _server.Dispose();
        _files.Dispose();
    }

    private async Task<PollResult> PollAsync(string host, string tls)
    {
        var yaml = RedisConfigs.Yaml($"{host}:{_tlsPort}", "3s", $"tls: {tls}");
        return await Networks.PollOnceAsync(yaml, _policy);
    }

    [Fact]
    public async Task PollAsync_TlsTrueWithAPrivateCa_FailsNotTrusted()
    {
        var result = await PollAsync("redis.test", "true");

        Assert.StartsWith("TLS handshake failed: the server's certificate is not trusted (", result.Failure);
    }

    [Fact]
    public async Task PollAsync_CaFileWithoutTheClientCertificate_Fails()
    {
        var result = await PollAsync("redis.test", $"{{ caFile: {_caFile} }}");

        Assert.False(result.Success);
    }

    [Fact]
    public async Task PollAsync_CaFileAndClientCertificate_Succeeds()
    {
        var result = await PollAsync("redis.test", $"{{ caFile: {_caFile}, certFile: {_certFile}, keyFile: {_keyFile} }}");

        // The first poll has nothing to subtract from: success without samples.
        Assert.True(result.Success, result.Failure);
    }

    [Fact]
    public async Task PollAsync_OtherHostName_FailsAndServerNamePasses()
    {
        var tls = $"caFile: {_caFile}, certFile: {_certFile}, keyFile: {_keyFile}";

        var wrong = await PollAsync("other.test", $"{{ {tls} }}");
        var named = await PollAsync("other.test", $"{{ {tls}, serverName: redis.test }}");

        Assert.Equal("TLS handshake failed: the server's certificate is not valid for the name other.test (tls.serverName sets the name checked)", wrong.Failure);
        Assert.True(named.Success, named.Failure);
    }
}
