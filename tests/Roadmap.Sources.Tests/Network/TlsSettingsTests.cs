using System.Diagnostics;
using Roadmap.Sources.Http;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Tests.Network;

/// <summary>The tls block as the loader reads it: its files checked at load, every problem a config error at its key.</summary>
public sealed class TlsSettingsTests : IDisposable
{
    private readonly TestCertificates _files = new();

    public void Dispose() => _files.Dispose();

    // The tls mapping is on line 7; "    tls: { " puts its first key at column 12, and "caFile: " its value at 20.
    private static string Probe(string tls) =>
        $"""
        - id: shop
          kind: http
          timeout: 5s
          url: https://shop.test/
          tls: {"{"} {tls} {"}"}
        """;

    [Fact]
    public void Bind_EveryKey_ReadsTheSettings()
    {
        var ca = TestCertificates.Authority("CA");
        var client = TestCertificates.Leaf(ca, ["roadmap"], client: true);
        var caFile = _files.WriteCertificates("ca.pem", ca);
        var certFile = _files.WriteCertificates("client.pem", client, ca);
        var keyFile = _files.WriteKey("client-key.pem", client);

        var config = TestConfigs.Source(Probe($"caFile: {caFile}, certFile: {certFile}, keyFile: {keyFile}, serverName: shop.internal, insecureSkipVerify: false, minVersion: tls13"));

        var tls = ((HttpProbeOptions)config.Options).Tls;
        Assert.Equal(new TlsSettings(caFile, certFile, keyFile, "shop.internal", false, System.Security.Authentication.SslProtocols.Tls13), tls);
        var material = TlsMaterial.Load(tls!);
        Assert.Empty(material.Problems);
        Assert.Equal(ca.Thumbprint, Assert.Single(material.Authorities!).Thumbprint);
        Assert.Equal(client.Thumbprint, material.Client!.TargetCertificate.Thumbprint);
    }

    [Fact]
    public void Bind_MissingCaFile_IsAConfigErrorAtTheKey()
    {
        var missing = Path.Combine(_files.Folder, "nope.pem");

        var errors = TestConfigs.Errors(Probe($"caFile: {missing}"));

        Assert.Equal([$"test.yaml:7:20: sources[shop].tls.caFile: cannot read caFile \"{missing}\": no such file"], errors);
    }

    [Fact]
    public void Bind_CaFileThatIsNotPem_IsAConfigError()
    {
        var notPem = _files.WriteText("ca.txt", "hello\n");

        var errors = TestConfigs.Errors(Probe($"caFile: {notPem}"));

        Assert.Equal([$"test.yaml:7:20: sources[shop].tls.caFile: caFile \"{notPem}\" is not PEM: expected -----BEGIN ...----- blocks"], errors);
    }

    [Fact]
    public void Bind_PemWithoutCertificates_IsAConfigError()
    {
        var ca = TestCertificates.Authority("CA");
        var keyOnly = _files.WriteKey("key.pem", TestCertificates.Leaf(ca, ["x"]));

        var errors = TestConfigs.Errors(Probe($"caFile: {keyOnly}"));

        Assert.Equal([$"test.yaml:7:20: sources[shop].tls.caFile: caFile \"{keyOnly}\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)"], errors);
    }

    [Fact]
    public void Bind_KeyWithoutCert_IsAConfigErrorAtKeyFile()
    {
        var keyFile = _files.WriteKey("key.pem", TestCertificates.Leaf(TestCertificates.Authority("CA"), ["x"]));

        var errors = TestConfigs.Errors(Probe($"keyFile: {keyFile}"));

        Assert.Equal(["test.yaml:7:21: sources[shop].tls.keyFile: a keyFile needs its certFile: set certFile too"], errors);
    }

    [Fact]
    public void Bind_CertWithoutKey_IsAConfigErrorAtCertFile()
    {
        var certFile = _files.WriteCertificates("cert.pem", TestCertificates.Authority("CA"));

        var errors = TestConfigs.Errors(Probe($"certFile: {certFile}"));

        Assert.Equal(["test.yaml:7:22: sources[shop].tls.certFile: a certFile needs its private key: set keyFile too"], errors);
    }

    [Fact]
    public void Bind_KeyOfAnotherCertificate_IsAConfigErrorThatNeverQuotesTheKey()
    {
        var ca = TestCertificates.Authority("CA");
        var certFile = _files.WriteCertificates("cert.pem", TestCertificates.Leaf(ca, ["a"], client: true));
        var keyFile = _files.WriteKey("other-key.pem", TestCertificates.Leaf(ca, ["b"], client: true));
        var keyText = File.ReadAllText(keyFile);

        var errors = TestConfigs.Errors(Probe($"certFile: {certFile}, keyFile: {keyFile}"));

        var error = Assert.Single(errors);
        Assert.StartsWith("test.yaml:7:", error);
        Assert.Contains($"sources[shop].tls.keyFile: keyFile \"{keyFile}\" holds no unencrypted PEM private key matching the certificate of certFile", error);
        var keyBody = keyText.Split('\n')[1];
        Assert.DoesNotContain(keyBody, error);
    }

    [Fact]
    public void Bind_UnknownMinVersionAndUnknownKey_AreConfigErrorsListingTheKnown()
    {
        var errors = TestConfigs.Errors(Probe("minVersion: TLS11, ca_file: x"));

        Assert.Equal(
            [
                "test.yaml:7:24: sources[shop].tls.minVersion: unknown value \"TLS11\": expected one of TLS12, TLS13",
                "test.yaml:7:31: sources[shop].tls.ca_file: unknown key \"ca_file\" (known keys here: caFile, certFile, insecureSkipVerify, keyFile, minVersion, serverName)",
            ],
            errors);
    }

    [Fact]
    public void Bind_CaFileIsAFifo_IsRefusedWithoutWaiting()
    {
        var fifo = Path.Combine(_files.Folder, "ca.fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // A FIFO without a writer would block an ordinary open forever; the loader must answer instead.
        var errors = TestConfigs.Errors(Probe($"caFile: {fifo}"));

        Assert.Equal([$"test.yaml:7:20: sources[shop].tls.caFile: cannot read caFile \"{fifo}\": it is a FIFO (named pipe), not a regular file"], errors);
    }

    [Fact]
    public void Bind_CaFileOverTheCap_IsRefused()
    {
        var pem = TestCertificates.Authority("CA").ExportCertificatePem() + "\n";
        var big = _files.WriteText("bundle.pem", string.Concat(Enumerable.Repeat(pem, (TlsSettings.MaxFileBytes / pem.Length) + 1)));

        var errors = TestConfigs.Errors(Probe($"caFile: {big}"));

        Assert.Equal([$"test.yaml:7:20: sources[shop].tls.caFile: caFile \"{big}\" is larger than 1 MiB; it should hold PEM certificates or a key"], errors);
    }
}
