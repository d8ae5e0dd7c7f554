using Roadmap.Sources.Http;
using Roadmap.Sources.Sql;

namespace Roadmap.Sources.Tests;

public class SourceKindsTests
{
    [Theory]
    [InlineData("http", typeof(HttpSourceKind))]
    [InlineData("sql", typeof(SqlSourceKind))]
    public void Get_RegisteredKind_ReturnsIt(string kind, Type expected)
    {
        var found = SourceKinds.Get(kind);

        Assert.IsType(expected, found);
        Assert.Equal(kind, found.Kind);
    }

    [Theory]
    [InlineData("smtp")]
    [InlineData("HTTP")]
    [InlineData("")]
    public void Get_UnknownKind_Throws(string kind)
    {
        var e = Assert.Throws<ArgumentException>(() => SourceKinds.Get(kind));

        Assert.StartsWith($"unknown source kind \"{kind}\"", e.Message);
    }

    [Fact]
    public void All_Kinds_HaveUniqueNames()
    {
        var names = SourceKinds.All.Select(k => k.Kind).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }
}
