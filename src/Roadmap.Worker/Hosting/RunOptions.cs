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

    /// <summary>
    /// This process's name among replicas (<c>--instance-id</c>, else <c>ROADMAP_INSTANCE_ID</c>, else the host name):
    /// the node stored with each poll, and in cluster mode its Quartz instance id, unique among live replicas.
    /// </summary>
    public string InstanceId { get; set; } = DefaultInstanceId();

    /// <summary>ROADMAP_INSTANCE_ID when set, else the host name.</summary>
    public static string DefaultInstanceId() =>
        Environment.GetEnvironmentVariable("ROADMAP_INSTANCE_ID") is { Length: > 0 } id ? id : Environment.MachineName;

    /// <summary>Semicolon-separated listen URLs; null: ASPNETCORE_URLS, else <see cref="DefaultUrls"/>.</summary>
    public string? Urls { get; set; }

    /// <summary>
    /// Host settings (ASP.NET Core keys such as <c>Kestrel:Limits:RequestHeadersTimeout</c> or
    /// <c>Kestrel:Endpoints:Https:Url</c>) laid over config/appsettings.json and the environment; empty by default.
    /// For tests and embedding: the run verb takes these from appsettings and environment variables.
    /// </summary>
    public IReadOnlyDictionary<string, string?> HostSettings { get; set; } = new Dictionary<string, string?>();
}
