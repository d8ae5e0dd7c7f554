using Microsoft.Extensions.Configuration;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Tests.Hosting;

public sealed class LoggingDefaultsTests
{
    [Fact]
    public void Values_AreTheShippedAppsettings()
    {
        // The defaults in code are what config/appsettings.json says: a folder without the file runs like one with it.
        var file = Path.Combine(Repository.Root(), "config", "appsettings.json");
        var shipped = new ConfigurationBuilder().AddJsonFile(file).Build().AsEnumerable()
            .Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);

        Assert.Equal(
            shipped.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase),
            LoggingDefaults.Values.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase));
    }

    [Fact]
    public void AddLoggingDefaults_UnderOtherSources_IsOverriddenByThem()
    {
        var builder = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });

        builder.AddLoggingDefaults();
        var configuration = builder.Build();

        Assert.Equal("Warning", configuration["Logging:LogLevel:Default"]);
        Assert.Equal("Warning", configuration["Logging:LogLevel:Microsoft.AspNetCore"]);
        Assert.Equal("True", configuration["Logging:Console:FormatterOptions:UseUtcTimestamp"]);
    }
}
