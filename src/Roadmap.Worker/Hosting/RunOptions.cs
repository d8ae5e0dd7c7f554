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
}
