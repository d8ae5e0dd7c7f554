using System.Security.Cryptography.X509Certificates;
using Roadmap.Sources.Sql;
using Roadmap.Sources.Tests.Network;

namespace Roadmap.Sources.Tests.Sql;

/// <summary>A real PostgreSQL server with ssl=on and a certificate for pg.test from a private CA, for one test class.</summary>
public sealed class PostgresTlsServer : IAsyncLifetime
{
    public PostgresTlsServer()
    {
        var certificate = TestCertificates.Leaf(Authority, ["pg.test"]);
        Server = new PostgresServer(dir =>
        {
            var cert = Path.Combine(dir, "server.pem");
            var key = Path.Combine(dir, "server-key.pem");
            File.WriteAllText(cert, certificate.ExportCertificatePem());
            using (var ecdsa = certificate.GetECDsaPrivateKey()!)
            {
                File.WriteAllText(key, ecdsa.ExportPkcs8PrivateKeyPem());
            }

            // PostgreSQL refuses a key file others may read (the server runs on Linux only, like the fixture).
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            return $"-c ssl=on -c ssl_cert_file='{cert}' -c ssl_key_file='{key}'";
        });
    }

    public X509Certificate2 Authority { get; } = TestCertificates.Authority("Postgres CA");

    public PostgresServer Server { get; }

    public Task InitializeAsync() => Server.InitializeAsync();

    public Task DisposeAsync() => Server.DisposeAsync();
}

/// <summary>
/// provider postgres with a tls block against that server: the block's CA and server name reach Npgsql's handshake,
/// and the connection really is TLS (pg_stat_ssl says so).
/// </summary>
public sealed class PostgresSourceTlsTests(PostgresTlsServer fixture) : IClassFixture<PostgresTlsServer>, IDisposable
{
    // 1 when the poll's own connection is encrypted.
    private const string SslQuery = "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    private readonly TestCertificates _files = new();

    public void Dispose() => _files.Dispose();

    private Task<PollResult> PollAsync(string tls, string query = SslQuery)
    {
        var yaml = $"""
            - id: db
              kind: sql
              timeout: 10s
              provider: postgres
              connectionString: "{fixture.Server.ConnectionString()}"
              query: "{query}"
              tls: {"{"} {tls} {"}"}
            """;
        return Networks.PollOnceAsync(yaml, Networks.Policy());
    }

    [Fact]
    public async Task PollAsync_CaFileAndServerName_ConnectsOverTls()
    {
        var caFile = _files.WriteCertificates("ca.pem", fixture.Authority);

        var result = await PollAsync($"caFile: {caFile}, serverName: pg.test");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(SqlSourceKind.Value));
    }

    [Fact]
    public async Task PollAsync_CaFileWithoutServerName_FailsOnTheAddressName()
    {
        var caFile = _files.WriteCertificates("ca.pem", fixture.Authority);

        var result = await PollAsync($"caFile: {caFile}");

        Assert.Equal("TLS handshake failed: the server's certificate is not valid for the name 127.0.0.1 (tls.serverName sets the name checked)", result.Failure);
    }

    [Fact]
    public async Task PollAsync_SystemTrustAgainstAPrivateCa_FailsNotTrusted()
    {
        var result = await PollAsync("serverName: pg.test");

        Assert.StartsWith("TLS handshake failed: the server's certificate is not trusted (", result.Failure);
    }

    [Fact]
    public async Task PollAsync_InsecureSkipVerify_ConnectsOverTls()
    {
        var result = await PollAsync("insecureSkipVerify: true");

        Assert.True(result.Success, result.Failure);
        Assert.Equal(1, result.Value(SqlSourceKind.Value));
    }
}
