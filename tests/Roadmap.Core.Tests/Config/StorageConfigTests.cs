using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary><c>settings.storage</c> through the real loader: the backend, and PostgreSQL's connection string as a secret.</summary>
public sealed class StorageConfigTests : IDisposable
{
    private const string Connection = "Host=127.0.0.1;Database=roadmap;Username=roadmap;Password=pg-Secret-913";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-storagecfg-" + Guid.NewGuid().ToString("N"));

    public StorageConfigTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ConfigLoadResult Load(string storage, Dictionary<string, string>? environment = null) =>
        new ConfigLoader([], name => environment?.GetValueOrDefault(name)).Load($"roadmap: {{ name: x }}\nsettings:\n{storage}\n", "test.yaml");

    private static RoadmapConfig Valid(ConfigLoadResult result)
    {
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return result.Config!;
    }

    private static string OnlyError(ConfigLoadResult result)
    {
        Assert.False(result.IsValid);
        return Assert.Single(result.ErrorLines());
    }

    [Fact]
    public void Load_NoStorage_IsSqlite()
    {
        var storage = Valid(Load("  evaluateEvery: 15s")).Settings.Storage;

        Assert.Equal(StorageConfig.Sqlite, storage.Kind);
        Assert.Null(storage.ConnectionString);
        Assert.Equal(TimeSpan.FromMilliseconds(500), storage.FlushEvery);
    }

    [Theory]
    [InlineData("  storage: { flushEvery: 5s }", StorageConfig.Sqlite)]
    [InlineData("  storage: { kind: postgres, connectionString: \"${ROADMAP_PG}\", flushEvery: 5s }", StorageConfig.Postgres)]
    public void Load_FlushEvery_IsKeptForEitherBackendAndShownInTheRestartMessage(string yaml, string kind)
    {
        var storage = Valid(Load(yaml, new() { ["ROADMAP_PG"] = Connection })).Settings.Storage;

        Assert.Equal(kind, storage.Kind);
        Assert.Equal(TimeSpan.FromSeconds(5), storage.FlushEvery);
        // A reload that changes only flushEvery is logged with the running and the new value: they must differ.
        Assert.NotEqual(StorageConfig.Default.ToString(), (storage with { Kind = StorageConfig.Sqlite, ConnectionString = null }).ToString());
        Assert.Contains("flushEvery 5s", storage.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("50ms")]
    [InlineData("2m")]
    public void Load_FlushEveryOutOfRange_SaysTheRangeAtItsPlace(string value)
    {
        var error = OnlyError(Load($"  storage:\n    flushEvery: {value}"));

        Assert.Contains("test.yaml:4:", error, StringComparison.Ordinal);
        Assert.Contains("settings.storage.flushEvery", error, StringComparison.Ordinal);
        Assert.Contains("must be from 100ms to 1m", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FlushEveryNotADuration_IsAnErrorAtItsPlace()
    {
        var error = OnlyError(Load("  storage: { flushEvery: often }"));

        Assert.Contains("settings.storage.flushEvery", error, StringComparison.Ordinal);
        Assert.Contains("often", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PostgresFromVariable_IsExpandedAndNeverPrinted()
    {
        var storage = Valid(Load("  storage: { kind: postgres, connectionString: \"${ROADMAP_PG}\" }", new() { ["ROADMAP_PG"] = Connection })).Settings.Storage;

        Assert.Equal(StorageConfig.Postgres, storage.Kind);
        Assert.Equal(Connection, storage.ConnectionString);
        Assert.DoesNotContain("pg-Secret-913", storage.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PostgresFromFile_IsTheFileLessItsNewline()
    {
        var path = Path.Combine(_dir, "pg");
        File.WriteAllText(path, Connection + "\n");

        var storage = Valid(Load($"  storage: {{ kind: postgres, connectionStringFile: \"{path}\" }}")).Settings.Storage;

        Assert.Equal(Connection, storage.ConnectionString);
    }

    [Fact]
    public void Load_PostgresWithoutConnectionString_NamesWhatToAdd()
    {
        var error = OnlyError(Load("  storage: { kind: postgres }"));

        Assert.Contains("test.yaml:3:", error, StringComparison.Ordinal);
        Assert.Contains("settings.storage.kind", error, StringComparison.Ordinal);
        Assert.Contains("connectionString", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PostgresWithEmptyVariable_IsAnErrorNotAFallback()
    {
        var error = OnlyError(Load("  storage: { kind: postgres, connectionString: \"${ROADMAP_PG}\" }", new() { ["ROADMAP_PG"] = "" }));

        Assert.Contains("settings.storage.connectionString", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConnectionStringWithSqlite_SaysItIsForPostgres()
    {
        var result = Load($"  storage: {{ kind: sqlite, connectionString: \"{Connection}\" }}");
        var error = OnlyError(result);

        Assert.Contains("is for kind postgres", error, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-Secret-913", string.Join('\n', result.ErrorLines()), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownKind_ListsTheKinds()
    {
        var error = OnlyError(Load("  storage: { kind: mysql }"));

        Assert.Contains("sqlite", error, StringComparison.Ordinal);
        Assert.Contains("postgres", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownKey_ListsTheDeclaredOnes()
    {
        var error = OnlyError(Load("  storage: { kind: sqlite, path: x.db }"));

        Assert.Contains("path", error, StringComparison.Ordinal);
        Assert.Contains("connectionString", error, StringComparison.Ordinal);
    }
}
