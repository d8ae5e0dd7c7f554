using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Hosting;

namespace Roadmap.Worker.Cli;

/// <summary>The verbs. Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage.</summary>
public static class RoadmapCli
{
    public const int Ok = 0;
    public const int RuntimeFailure = 1;
    public const int BadConfigOrUsage = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h" or "help"])
        {
            await stdout.WriteLineAsync(CommandLine.Usage);
            return Ok;
        }

        var command = CommandLine.Parse(args, out var error);
        if (command is null)
        {
            await stderr.WriteLineAsync($"error: {error}");
            await stderr.WriteLineAsync(CommandLine.Usage);
            return BadConfigOrUsage;
        }

        // The schema describes every config, so it reads none.
        if (command.Verb == "schema")
        {
            return await SchemaCommand.RunAsync(command.Options.GetValueOrDefault("format", "json"), stdout, stderr);
        }

        // A copy moves stored history between stores; no config is involved.
        if (command.Verb == "copy-storage")
        {
            return await CopyStorageCommand.RunAsync(command.Options, stdout, stderr);
        }

        var configPath = command.Options.GetValueOrDefault("config", ConfigLoader.DefaultPath);
        // ${ROADMAP_SELF_URL} follows the address the service listens on (SelfUrl), for every verb alike.
        var loaded = new ConfigLoader(SourceKinds.All, SelfUrl.Variables(SelfUrl.ListenUrls(command.Options.GetValueOrDefault("urls")))).LoadFile(configPath);
        if (!loaded.IsValid)
        {
            foreach (var line in loaded.ErrorLines())
            {
                await stderr.WriteLineAsync(line);
            }

            await stderr.WriteLineAsync($"{configPath}: {loaded.ErrorCount} error(s); nothing was started");
            return BadConfigOrUsage;
        }

        foreach (var line in loaded.WarningLines())
        {
            await stderr.WriteLineAsync(line);
        }

        var config = loaded.Config!;
        switch (command.Verb)
        {
            case "validate":
                await stdout.WriteLineAsync($"{configPath}: ok ({config.Sources.Count} sources, {config.Initiatives.Count} initiatives, {config.Initiatives.Sum(i => i.Kpis.Count)} KPIs)");
                return Ok;
            case "check":
                return await CheckCommand.RunAsync(config, stdout);
            case "report":
                var reportStorage = StorageChoice.Options(config, command.Options.GetValueOrDefault("database"), out var reportProblem);
                if (reportProblem is not null)
                {
                    await stderr.WriteLineAsync($"error: {reportProblem}");
                    return BadConfigOrUsage;
                }

                return await ReportCommand.RunAsync(
                    config,
                    reportStorage,
                    command.Options.GetValueOrDefault("format", "markdown"),
                    stdout,
                    stderr,
                    since: command.Options.GetValueOrDefault("since"));
            default:
                return await RunServiceAsync(config, command, stderr);
        }
    }

    private static async Task<int> RunServiceAsync(RoadmapConfig config, CommandLine command, TextWriter stderr)
    {
        var options = new RunOptions
        {
            ConfigPath = command.Options.GetValueOrDefault("config", ConfigLoader.DefaultPath),
            DatabasePath = command.Options.GetValueOrDefault("database", StorageOptions.DefaultPath),
            Urls = command.Options.GetValueOrDefault("urls"),
            InstanceId = command.Options.GetValueOrDefault("instance-id") ?? RunOptions.DefaultInstanceId(),
        };

        if (!InstanceIds.IsValid(options.InstanceId))
        {
            await stderr.WriteLineAsync($"error: --instance-id \"{options.InstanceId}\": {InstanceIds.Rule}");
            return BadConfigOrUsage;
        }

        var storage = StorageChoice.Options(config, command.Options.GetValueOrDefault("database"), out var problem);
        if (problem is not null)
        {
            await stderr.WriteLineAsync($"error: {problem}");
            return BadConfigOrUsage;
        }

        // The node stored with each poll: which replica ran it.
        storage.Node = options.InstanceId;

        try
        {
            // The database is opened only once the address is bound: a start that cannot listen creates no file.
            await using var app = RoadmapApp.BuildDeferringStorage(options, config, () => StorageBackends.Open(storage));
            await app.RunAsync();
            return Ok;
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return RuntimeFailure;
        }
        catch (HostingConfigException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return BadConfigOrUsage;
        }
        catch (IOException e)
        {
            // Kestrel reports an address in use this way.
            await stderr.WriteLineAsync($"error: {e.Message}");
            return RuntimeFailure;
        }
    }
}
