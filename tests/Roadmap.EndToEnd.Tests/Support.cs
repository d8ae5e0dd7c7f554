using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Roadmap.EndToEnd.Tests;

/// <summary>Helpers shared by the end-to-end tests: temp folders, free ports, scraping and polling.</summary>
internal static partial class Support
{
    public static string TempFolder()
    {
        var dir = Path.Combine(Path.GetTempPath(), "roadmap-e2e", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Roadmap.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Roadmap.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The value of one series in a Prometheus text exposition, e.g. Series(text, "up", ("job", "x")).</summary>
    public static double? Value(string exposition, string name, params (string Label, string Value)[] labels)
    {
        foreach (var line in exposition.Split('\n'))
        {
            var m = SeriesLine().Match(line);
            if (!m.Success || m.Groups["name"].Value != name)
            {
                continue;
            }

            var found = LabelPair().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            if (labels.All(l => found.TryGetValue(l.Label, out var v) && v == l.Value))
            {
                return double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Polls <paramref name="probe"/> until it returns true or the timeout passes (real time: a real process runs).</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> probe, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            try
            {
                if (await probe())
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(200);
        }

        return await probe();
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})?\s+(?<value>\S+)")]
    private static partial Regex SeriesLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
