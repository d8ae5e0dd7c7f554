namespace Roadmap.Worker.Tests;

/// <summary>Files of the repository the tests run from (the shipped config, testdata).</summary>
internal static class Repository
{
    /// <summary>The folder that holds Roadmap.sln, found upwards from the test assembly.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Roadmap.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Roadmap.sln above {AppContext.BaseDirectory}");
    }
}
