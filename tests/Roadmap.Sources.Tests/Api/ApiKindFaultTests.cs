namespace Roadmap.Sources.Tests.Api;

/// <summary>
/// The fault matrix of <see cref="ApiKindFaults"/> over every issue-tracker kind: whatever a broken or hostile server
/// does, the poll fails with the reason, no samples, and in bounded time.
/// </summary>
public sealed class ApiKindFaultTests(WireMockFixture wiremock) : IClassFixture<WireMockFixture>
{
    private readonly WireMockServer _server = wiremock.Server;

    // Each test has its own root on the shared server (as an instance under a path), so tests never see each other's requests.
    private readonly string _prefix = "/" + Guid.NewGuid().ToString("N");

    public static TheoryData<string, string, string, bool> KindsAndFaults
    {
        get
        {
            var data = new TheoryData<string, string, string, bool>();
            foreach (var kind in ApiKindFaults.ByName.Keys)
            {
                foreach (var row in ApiKindFaults.Faults)
                {
                    data.Add(kind, (string)row[0], (string)row[1], (bool)row[2]);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KindsAndFaults))]
    public async Task PollAsync_Fault_FailsWithTheReasonAndNeverThrows(string kindName, string fault, string reason, bool exact)
    {
        var kind = ApiKindFaults.ByName[kindName];
        await using var raw = ApiKindFaults.RawServer(fault);
        if (raw is null)
        {
            _server.Given(Request.Create().WithPath(_prefix + kind.Path).UsingMethod(kind.Method)).RespondWith(ApiKindFaults.Answer(kind, fault));
        }

        var url = raw is null ? _server.Url + _prefix : raw.Url.ToString().TrimEnd('/');
        await using var source = kind.Create(kind.Yaml(url, ApiKindFaults.TimeoutFor(fault)));
        var result = await source.PollAsync(CancellationToken.None);

        Assert.False(result.Success);
        Assert.Empty(result.Samples);
        if (exact)
        {
            Assert.Equal(reason, result.Failure);
        }
        else
        {
            Assert.StartsWith(reason, result.Failure, StringComparison.Ordinal);
        }

        Assert.True(result.Duration < TimeSpan.FromSeconds(3), $"the poll took {result.Duration}");
    }
}
