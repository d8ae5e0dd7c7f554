using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Roadmap.Sources.Tests.Network;

/// <summary>Certificates made for one test: a private CA and the leaves it signs, written as PEM files in a temp folder.</summary>
internal sealed class TestCertificates : IDisposable
{
    public TestCertificates()
    {
        Directory.CreateDirectory(Folder);
    }

    /// <summary>The folder the PEM files go to; removed on dispose.</summary>
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "roadmap-tls-" + Guid.NewGuid().ToString("N"));

    /// <summary>A self-signed certificate authority, valid from yesterday for a year.</summary>
    public static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(365));
    }

    /// <summary>
    /// A leaf signed by <paramref name="issuer"/> for <paramref name="names"/> (host names, or IP addresses), valid from
    /// yesterday until <paramref name="notAfter"/> (default: 90 days), for servers or, with <paramref name="client"/>, clients.
    /// </summary>
    public static X509Certificate2 Leaf(X509Certificate2 issuer, string[] names, DateTimeOffset? notAfter = null, bool client = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var purpose = client ? "1.3.6.1.5.5.7.3.2" : "1.3.6.1.5.5.7.3.1";
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(purpose)], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(12);
        var until = notAfter ?? DateTimeOffset.UtcNow.AddDays(90);
        using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), until, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the certificates as one PEM file; returns its path.</summary>
    public string WriteCertificates(string name, params X509Certificate2[] certificates)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n")));
        return path;
    }

    /// <summary>Writes the private key of <paramref name="certificate"/> as a PKCS#8 PEM file; returns its path.</summary>
    public string WriteKey(string name, X509Certificate2 certificate)
    {
        var path = Path.Combine(Folder, name);
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    /// <summary>Any file in the folder, e.g. one that is not PEM.</summary>
    public string WriteText(string name, string text)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
