using System.Security.Cryptography.X509Certificates;
using YamlDotNet.RepresentationModel;

namespace Roadmap.Sources.Tests;

/// <summary>
/// Each source kind's key declarations (<see cref="ISourceKindSpec.Keys"/>, from which the loader's checks, the JSON
/// Schema and README's tables come) against what its Bind really reads: a key read but not declared would be missing
/// from the schema and the docs, and unchecked; a key declared but not read would be accepted and ignored.
/// </summary>
public class SourceKindKeysTests
{
    public static TheoryData<string> Kinds() => [.. SourceKinds.All.Select(k => k.Kind)];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Bind_EveryDeclaredKeyWithItsSample_ReadsExactlyTheDeclaredKeysWithoutErrors(string kind)
    {
        var spec = SourceKinds.Get(kind);
        Assert.NotEmpty(spec.Keys);
        SampleTlsFiles.Value.ToString();
        var (section, context) = Section(ConfigSchema.SampleYaml(spec.Keys));

        spec.Bind(section.Declare(spec.Keys));
        section.RejectUnknownKeys();

        Assert.Empty(context.Errors.Select(e => e.ToString()));
        var declared = spec.Keys.SelectMany(k => k.Names).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(declared, section.ReadKeys.Order(StringComparer.Ordinal).ToList());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DeclareAndBind_EmptyMapping_ReportsEveryDeclaredRequiredKeyMissingOnce(string kind)
    {
        var spec = SourceKinds.Get(kind);
        var (section, context) = Section("{}");

        spec.Bind(section.Declare(spec.Keys));

        var missing = context.Errors.Select(e => e.Message).ToList();
        foreach (var key in spec.Keys.Where(k => k.Required))
        {
            Assert.Contains(missing, m => m.Contains($"missing required key \"{key.Name}\"", StringComparison.Ordinal));
        }

        Assert.Equal(spec.Keys.Count(k => k.Required), missing.Count(m => m.Contains("missing required key", StringComparison.Ordinal)));
    }

    [Fact]
    public void Keys_EveryKindDeclaresEachKeyOnceAndNoneOfTheCommonKeys()
    {
        var common = ConfigSchema.SourceCommon.Select(k => k.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var spec in SourceKinds.All)
        {
            var names = spec.Keys.SelectMany(k => k.Names).ToList();
            Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
            Assert.DoesNotContain(names, common.Contains);
        }
    }

    // The tls block's samples name PEM files (ca.pem, client.pem, client-key.pem) relative to the working directory,
    // which Bind reads: they are made once, real, in the test's working directory.
    private static readonly Lazy<bool> SampleTlsFiles = new(() =>
    {
        var ca = Network.TestCertificates.Authority("Sample CA");
        var client = Network.TestCertificates.Leaf(ca, ["roadmap"], client: true);
        File.WriteAllText(Roadmap.Sources.Network.TlsSettings.Keys.Single(k => k.Name == "caFile").Sample, ca.ExportCertificatePem());
        File.WriteAllText(Roadmap.Sources.Network.TlsSettings.Keys.Single(k => k.Name == "certFile").Sample, client.ExportCertificatePem());
        using var key = client.GetECDsaPrivateKey()!;
        File.WriteAllText(Roadmap.Sources.Network.TlsSettings.Keys.Single(k => k.Name == "keyFile").Sample, key.ExportPkcs8PrivateKeyPem());
        return true;
    });

    private static (ConfigSection Section, ConfigContext Context) Section(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var context = new ConfigContext("test.yaml", _ => null);
        return (ConfigSection.Of(context, (YamlMappingNode)stream.Documents[0].RootNode, "sources[test]"), context);
    }
}
