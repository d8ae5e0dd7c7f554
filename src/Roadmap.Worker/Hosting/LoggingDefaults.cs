using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace Roadmap.Worker.Hosting;

/// <summary>
/// The logging settings Roadmap runs with when nothing overrides them: the same as the shipped
/// <c>config/appsettings.json</c>. They live in code because the executable is also run from folders that have no such
/// file (a published folder copied elsewhere, a service unit with another working directory), where ASP.NET's own
/// default logged every request at Information, about 6 KB per unauthenticated request.
/// </summary>
public static class LoggingDefaults
{
    /// <summary>Configuration keys and values, lowest priority: appsettings files and the environment override each.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Values = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Quartz"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "True",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ ",
        ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "True",
    };

    /// <summary>Puts <see cref="Values"/> under every configuration source the builder already has.</summary>
    public static void AddLoggingDefaults(this IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Values });
    }
}
