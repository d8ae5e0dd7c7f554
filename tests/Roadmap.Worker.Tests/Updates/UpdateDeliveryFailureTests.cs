using System.Net;
using System.Net.Sockets;
using Roadmap.Core.Config;
using Roadmap.Storage;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Roadmap.Worker.Tests.Updates;

/// <summary>
/// A webhook that fails: retried with backoff up to the attempts, then given up until the next fire, recorded and
/// counted in <c>roadmap_update_deliveries_total</c>; a refused redirect or a denied address is not retried. The
/// webhook URL, a secret, is never in the log.
/// </summary>
public sealed class UpdateDeliveryFailureTests : IDisposable
{
    private const string Hourly = "0 0 * * * ?";
    private readonly WireMockServer _receiver = WireMockServer.Start();

    public void Dispose() => _receiver.Stop();

    private int Requests(string path) => _receiver.LogEntries.Count(e => e.RequestMessage.Path == path);

    [Theory]
    [InlineData("500", 3, "HTTP 500")]
    [InlineData("timeout", 3, "timeout after 1s")]
    [InlineData("redirect to a denied host", 1, "redirect to another host: refused")]
    [InlineData("webhook on a denied address", 0, "denied: 127.0.0.1 is in the network deny list (127.0.0.0/8)")]
    public async Task RunDueAsync_FailingWebhook_IsRetriedThenGivenUpAndCounted(string fault, int requests, string reason)
    {
        var response = fault switch
        {
            "500" => Response.Create().WithStatusCode(500).WithBody("boom"),
            _ => Response.Create().WithStatusCode(307).WithHeader("Location", "http://169.254.169.254/latest/meta-data/"),
        };
        _receiver.Given(Request.Create().WithPath("/hook").UsingPost()).RespondWith(response);

        // The timeout's receiver takes connections and never answers: only the attempt's 1 s can end an attempt.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var client = await silent.AcceptTcpClientAsync();
                    lock (accepted)
                    {
                        accepted.Add(client);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped by the test.
            }
        });
        var port = fault == "timeout" ? ((IPEndPoint)silent.LocalEndpoint).Port : _receiver.Port;
        var network = fault == "webhook on a denied address" ? "  network: { deny: [127.0.0.0/8] }\n" : "";
        using var rig = new UpdateRig($"[{{ name: ops, cron: \"{Hourly}\", url: \"http://127.0.0.1:{port}/hook\", format: slack }}]", settings: network);
        // The silent receiver never answers: a 1 s attempt is far from never. Given up until the next fire, a second
        // check in the same hour sends nothing.
        await rig.FireAsync(fault == "timeout" ? UpdateRig.Fast with { AttemptTimeout = TimeSpan.FromSeconds(1) } : null, checks: 2);

        lock (accepted)
        {
            Assert.Equal(requests, fault == "timeout" ? accepted.Count : Requests("/hook"));
            accepted.ForEach(c => c.Dispose());
        }

        silent.Stop();

        var last = rig.Database!.Updates.Last("ops")!;
        Assert.Equal((IUpdateStore.Failure, requests == 0 ? 1 : requests), (last.Outcome, (int)last.Attempts));
        Assert.Equal(1, await rig.DeliveriesAsync("ops", "failure"));
        Assert.Equal(0, await rig.DeliveriesAsync("ops", "success"));
        var warning = Assert.Single(rig.Logs, l => l.StartsWith("Warning: Update ops", StringComparison.Ordinal));
        Assert.Contains("given up until its next fire", warning, StringComparison.Ordinal);
        Assert.Contains(reason, warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunDueAsync_WebhookFailsThenRecovers_SendsAtTheNextFire()
    {
        _receiver.Given(Request.Create().WithPath("/hook").UsingPost()).AtPriority(1).InScenario("flaky").WillSetStateTo("up")
            .RespondWith(Response.Create().WithStatusCode(503));
        _receiver.Given(Request.Create().WithPath("/hook").UsingPost()).AtPriority(1).InScenario("flaky").WhenStateIs("up").WillSetStateTo("up")
            .RespondWith(Response.Create().WithStatusCode(200));
        using var rig = new UpdateRig($"[{{ name: ops, cron: \"{Hourly}\", url: \"http://127.0.0.1:{_receiver.Port}/hook\", format: json }}]");
        await rig.FireAsync();

        // The first attempt got 503, the second went through: one fire, two requests, a success.
        Assert.Equal(2, Requests("/hook"));
        Assert.Equal(1, await rig.DeliveriesAsync("ops", "success"));
        Assert.Equal(0, await rig.DeliveriesAsync("ops", "failure"));
        Assert.Equal(2, rig.Database!.Updates.Last("ops")!.Attempts);
    }

    [Fact]
    public async Task RunDueAsync_SecretWebhookUrl_NeverAppearsInTheLog()
    {
        const string token = "T0SECRET/B0SECRET/xoxSECRETTOKEN";
        _receiver.Given(Request.Create().WithPath($"/services/{token}").UsingPost()).RespondWith(Response.Create().WithStatusCode(500).WithBody($"bad hook /services/{token}"));
        var url = $"http://127.0.0.1:{_receiver.Port}/services/{token}";
        using var rig = new UpdateRig(
            "[{ name: ops, cron: \"0 0 * * * ?\", url: \"${HOOK}\", format: slack }, { name: wiki, cron: \"0 0 * * * ?\", urlFile: \"${HOOK_FILE}\", format: teams }]",
            new Dictionary<string, string> { ["HOOK"] = url, ["HOOK_FILE"] = WriteSecretFile(url) });
        await rig.FireAsync();

        // Both updates were tried (so the log has their lines) and neither line holds the URL or its path.
        Assert.Equal(6, Requests($"/services/{token}"));
        Assert.Equal(2, rig.Logs.Count(l => l.StartsWith("Warning: Update", StringComparison.Ordinal)));
        Assert.DoesNotContain(rig.Logs, l => l.Contains("SECRET", StringComparison.Ordinal));
        // What a reload would print of the running and the new value.
        Assert.DoesNotContain("SECRET", rig.Config.Settings.Updates.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", rig.Config.Settings.ToString(), StringComparison.Ordinal);
        // A reason that quotes the URL or its path (a server or a library may) is redacted, whole or cut short.
        var update = rig.Config.Settings.Updates.Items[0];
        var redacted = SourceConfig.RedactWith($"failed: {url} and /services/{token} and {url[..^3]}…", update.Secrets)!;
        Assert.DoesNotContain("SECRET", redacted, StringComparison.Ordinal);
    }

    private static string WriteSecretFile(string url)
    {
        var path = Path.Combine(Path.GetTempPath(), "roadmap-worker-tests", $"{Guid.NewGuid():N}.hook");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, url + "\n");
        return path;
    }
}
