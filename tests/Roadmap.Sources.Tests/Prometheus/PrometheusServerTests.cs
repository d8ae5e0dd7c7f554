using Roadmap.Sources.Prometheus;

namespace Roadmap.Sources.Tests.Prometheus;

/// <summary>The prometheus kind against a real Prometheus, for what a mock would only repeat our reading of the API.</summary>
public sealed class PrometheusServerTests(PrometheusServerFixture prometheus) : IClassFixture<PrometheusServerFixture>
{
    private string Source(string query) =>
        $"""
        - id: prom
          kind: prometheus
          timeout: 5s
          url: {prometheus.Url}
          query: '{query.Replace("'", "''", StringComparison.Ordinal)}'
        """;

    /// <summary>Polls until the poll succeeds (the first scrape lands within a second or two of start), at most 20 s.</summary>
    private async Task<PollResult> PollUntilSuccessAsync(string query)
    {
        await using var source = ApiKinds.Create(Source(query));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = await source.PollAsync(CancellationToken.None);
            if (result.Success || clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                return result;
            }

            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task PollAsync_OneSeries_SamplesItsValue()
    {
        var result = await PollUntilSuccessAsync("up{job=\"prometheus\"}");

        Assert.True(result.Success, $"{result.Failure}\n{prometheus.Output}");
        Assert.Equal([new Sample(PrometheusSourceKind.Value, 1)], result.Samples);
    }

    [Theory]
    [InlineData("scalar(vector(1+1))", 2)]
    [InlineData("1+1", 2)]
    [InlineData("1.5 * 4", 6)]
    [InlineData("vector(42)", 42)]
    public async Task PollAsync_ScalarOrOneSampleVector_SamplesTheNumber(string query, double expected)
    {
        var result = await ApiKinds.PollOnceAsync(Source(query));

        Assert.True(result.Success, result.Failure);
        Assert.Equal(expected, result.Value(PrometheusSourceKind.Value));
    }

    [Theory]
    [InlineData("count(up) by (job) > 100", "the query returned no series")]
    [InlineData("vector(1) or label_replace(vector(2), \"x\", \"y\", \"\", \"\")", "the query returned 2 series, expected one")]
    [InlineData("0/0", "the query returned NaN")]
    [InlineData("1/0", "the query returned +Inf")]
    [InlineData("-1/0", "the query returned -Inf")]
    [InlineData("\"hello\"", "the query returned a string, expected a number")]
    [InlineData("vector(1)[1m:1s]", "the query returned a range vector (matrix), expected an instant vector or a scalar")]
    public async Task PollAsync_NotExactlyOneNumber_FailsSayingWhy(string query, string failure)
    {
        var result = await ApiKinds.PollOnceAsync(Source(query));

        Assert.False(result.Success);
        Assert.Equal(failure, result.Failure);
        Assert.Empty(result.Samples);
    }

    [Fact]
    public async Task PollAsync_QueryThatDoesNotParse_FailsWithPrometheusErrorTypeAndMessage()
    {
        var result = await ApiKinds.PollOnceAsync(Source("sum(up"));

        Assert.False(result.Success);
        Assert.StartsWith("query failed (bad_data): invalid parameter \"query\": ", result.Failure, StringComparison.Ordinal);
        Assert.Contains("parse error", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PollAsync_ScalarOfAScalar_FailsWithThePromQLTypeError()
    {
        // scalar() takes an instant vector: "scalar(1+1)" is not PromQL, and says so.
        var result = await ApiKinds.PollOnceAsync(Source("scalar(1+1)"));

        Assert.Equal(
            "query failed (bad_data): invalid parameter \"query\": 1:8: parse error: expected type instant vector in call to function \"scalar\", got scalar",
            result.Failure);
    }
}
