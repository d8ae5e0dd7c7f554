using Roadmap.Worker.Cli;

return await RoadmapCli.RunAsync(args, Console.Out, Console.Error);
