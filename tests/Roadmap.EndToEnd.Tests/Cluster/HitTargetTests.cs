using System.Net.Sockets;
using System.Text;

namespace Roadmap.EndToEnd.Tests.Cluster;

public sealed class HitTargetTests
{
    [Fact]
    public async Task Hits_ManyConcurrentRequests_EachAnsweredAndLoggedOnceWithItsPathAndArrival()
    {
        await using var target = new HitTarget(TimeProvider.System);
        using var http = new HttpClient();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var r = await http.GetAsync(new Uri($"http://127.0.0.1:{target.Port}/s/{i}"));
            return (r.StatusCode, Body: await r.Content.ReadAsStringAsync(), Close: r.Headers.ConnectionClose);
        }));
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, "ok", (bool?)true), (a.StatusCode, a.Body, a.Close)));
        var hits = target.Hits;
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"/s/{i}").Order(), hits.Select(h => h.Path).Order());
        Assert.All(hits, h => Assert.InRange(h.At, before, after));
    }

    [Fact]
    public async Task Hits_RequestHeadThatNeverEnds_DroppedAfterItsBoundWhileOthersAreServed()
    {
        await using var target = new HitTarget(TimeProvider.System, headTimeout: TimeSpan.FromSeconds(1));
        using var hostile = new TcpClient();
        await hostile.ConnectAsync(IPAddress.Loopback, target.Port);
        var stream = hostile.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /slow HTTP/1.1\r\nX: a"));

        using var http = new HttpClient();
        Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://127.0.0.1:{target.Port}/s/1")));
        var read = await stream.ReadAsync(new byte[256]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, read);
        Assert.Equal(["/s/1"], target.Hits.Select(h => h.Path));
    }
}
