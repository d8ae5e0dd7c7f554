using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Network;

/// <summary>
/// The certificates a <see cref="TlsSettings"/> names, read from its files: the trusted authorities and the client
/// certificate with its key. Files are read as every <c>*File</c> key is (<see cref="RegularFile"/>: regular files
/// only, never a FIFO waited on), at most <see cref="TlsSettings.MaxFileBytes"/> each.
/// </summary>
/// <param name="Authorities">The certificates of <c>caFile</c>; null: the system's trust store.</param>
/// <param name="Client">The client certificate (with its private key and intermediates); null: none.</param>
/// <param name="Stamps">What each file was when read (<see cref="FileStamp"/>), to notice a change.</param>
/// <param name="Problems">Why a file could not serve, by the key naming it; empty when all could. Never quotes a file's content.</param>
public sealed record TlsMaterial(
    X509Certificate2Collection? Authorities,
    SslStreamCertificateContext? Client,
    IReadOnlyList<FileStamp> Stamps,
    IReadOnlyList<(string Key, string Problem)> Problems)
{
    /// <summary>Nothing to read: the system's trust store, no client certificate.</summary>
    public static TlsMaterial None { get; } = new(null, null, [], []);

    /// <summary>Reads and parses every file <paramref name="settings"/> names.</summary>
    public static TlsMaterial Load(TlsSettings settings)
    {
        if (settings.CaFile is null && settings.CertFile is null && settings.KeyFile is null)
        {
            return None;
        }

        var problems = new List<(string, string)>();
        var stamps = new List<FileStamp>();
        X509Certificate2Collection? authorities = null;
        if (settings.CaFile is { } caFile && ReadPem(caFile, "caFile", stamps, problems) is { } caPem)
        {
            authorities = Certificates(caPem, "caFile", caFile, problems);
        }

        SslStreamCertificateContext? client = null;
        if (settings.CertFile is { } certFile && settings.KeyFile is { } keyFile
            && ReadPem(certFile, "certFile", stamps, problems) is { } certPem
            && ReadPem(keyFile, "keyFile", stamps, problems) is { } keyPem
            && Certificates(certPem, "certFile", certFile, problems) is { } chain)
        {
            client = ClientCertificate(certPem, keyPem, chain, keyFile, problems);
        }

        return new TlsMaterial(authorities, client, stamps, problems);
    }

    /// <summary>Whether any file read is no longer the one read (another file at its path, or changed since).</summary>
    public bool Changed(TlsSettings settings)
    {
        foreach (var stamp in Stamps)
        {
            if (!stamp.Equals(FileStamp.Of(stamp.Path)))
            {
                return true;
            }
        }

        // A file that could not be read at all has no stamp: try again, so fixing it is picked up.
        return Problems.Count > 0 && Stamps.Count < new[] { settings.CaFile, settings.CertFile, settings.KeyFile }.Count(f => f is not null);
    }

    private static string? ReadPem(string file, string key, List<FileStamp> stamps, List<(string, string)> problems)
    {
        // The stamp is taken before the read: a change during the read shows as a change at the next check.
        var stamp = FileStamp.Of(file);
        var read = RegularFile.Read(file, TlsSettings.MaxFileBytes);
        if (read.TooLarge)
        {
            problems.Add((key, $"{key} \"{file}\" is larger than {TlsSettings.MaxFileBytes / (1 << 20)} MiB; it should hold PEM certificates or a key"));
            return null;
        }

        if (read.Bytes is not { } bytes)
        {
            problems.Add((key, $"cannot read {key} \"{file}\": {read.Problem}"));
            return null;
        }

        stamps.Add(stamp);
        var text = Encoding.UTF8.GetString(bytes);
        if (!text.Contains("-----BEGIN ", StringComparison.Ordinal))
        {
            problems.Add((key, $"{key} \"{file}\" is not PEM: expected -----BEGIN ...----- blocks"));
            return null;
        }

        return text;
    }

    private static X509Certificate2Collection? Certificates(string pem, string key, string file, List<(string, string)> problems)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            problems.Add((key, $"{key} \"{file}\" holds a CERTIFICATE block that does not parse"));
            return null;
        }

        if (certificates.Count == 0)
        {
            problems.Add((key, $"{key} \"{file}\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
            return null;
        }

        return certificates;
    }

    private static SslStreamCertificateContext? ClientCertificate(
        string certPem, string keyPem, X509Certificate2Collection chain, string keyFile, List<(string, string)> problems)
    {
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // The exception's own words are not quoted: they are about the key.
            problems.Add(("keyFile", $"keyFile \"{keyFile}\" holds no unencrypted PEM private key matching the certificate of certFile"));
            return null;
        }

        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in chain)
        {
            if (!certificate.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                intermediates.Add(certificate);
            }
        }

        // Offline: the intermediates come from the file, nothing is fetched to complete the chain.
        return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
    }
}

/// <summary>
/// What a file is, cheaply: the path it finally names (symbolic links followed, so a Kubernetes secret's swapped
/// <c>..data</c> link shows), its size and its modification time. One stat per file; no read.
/// </summary>
public readonly record struct FileStamp(string Path, string? Target, long Length, DateTime Modified)
{
    /// <summary>The stamp of <paramref name="path"/> now; a missing file has length -1.</summary>
    public static FileStamp Of(string path)
    {
        try
        {
            var info = new FileInfo(path);
            var target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            var file = target is null ? info : new FileInfo(target);
            return file.Exists ? new FileStamp(path, target, file.Length, file.LastWriteTimeUtc) : new FileStamp(path, target, -1, default);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new FileStamp(path, null, -1, default);
        }
    }
}
