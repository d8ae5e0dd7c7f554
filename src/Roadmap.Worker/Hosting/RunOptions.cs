using Roadmap.Core.Config;
using Roadmap.Storage;

namespace Roadmap.Worker.Hosting;

/// <summary>The options of the run verb.</summary>
public sealed class RunOptions
{
    /// <summary>The address the service listens on when neither --urls nor ASPNETCORE_URLS says otherwise: loopback only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:9810";

    public string ConfigPath { get; set; } = ConfigLoader.DefaultPath;

    public string DatabasePath { get; set; } = StorageOptions.DefaultPath;

    /// <summary>Semicolon-separated listen URLs; null: ASPNETCORE_URLS, else <see cref="DefaultUrls"/>.</summary>
    public string? Urls { get; set; }

    /// <summary>
    /// Host settings (ASP.NET Core keys such as <c>Kestrel:Limits:RequestHeadersTimeout</c> or
    /// <c>Kestrel:Endpoints:Https:Url</c>) laid over config/appsettings.json and the environment; empty by default.
    /// For tests and embedding: the run verb takes these from appsettings and environment variables.
    /// </summary>
    public IReadOnlyDictionary<string, string?> HostSettings { get; set; } = new Dictionary<string, string?>();
}
