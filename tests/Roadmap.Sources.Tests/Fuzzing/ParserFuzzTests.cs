using System.Text;
using System.Text.Json;
using Roadmap.Core.Tests.Config.Fuzzing;
using Roadmap.Sources.Api;
using Roadmap.Sources.DnsProbe;
using Roadmap.Sources.GitHub;
using Roadmap.Sources.GitLab;
using Roadmap.Sources.Http;
using Roadmap.Sources.Jira;
using Roadmap.Sources.Json;
using Roadmap.Sources.Prometheus;
using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Fuzzing;

/// <summary>
/// Every response parser, called directly with mutated bodies and headers: it yields values or a failure with a
/// reason, and never lets an exception out (a poll that throws is a crash, not a recorded failure).
/// </summary>
public class ParserFuzzTests
{
    private static readonly string[] PrometheusBodies =
    [
        """{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"0.25"]}}""",
        """{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"shop"},"value":[1700000000.5,"12.5"]}]}}""",
        """{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},{"metric":{"a":"b"},"value":[1,"2"]}]}}""",
        """{"status":"success","data":{"resultType":"vector","result":[]}}""",
        """{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"3","sum":"4"}]}]}}""",
        """{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]}]}}""",
        """{"status":"success","data":{"resultType":"string","result":[1,"text"]}}""",
        """{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}""",
        """{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]},"warnings":["w"]}""",
    ];

    private static readonly string[] GitHubBodies =
    [
        """{"total_count":42,"incomplete_results":false,"items":[{"id":1,"title":"x"}]}""",
        """{"total_count":0,"incomplete_results":true,"items":[]}""",
        """{"message":"Validation Failed","errors":[{"message":"The listed users cannot be searched","resource":"Search","field":"q","code":"invalid"}],"documentation_url":"https://docs.github.com/rest"}""",
        """{"message":"API rate limit exceeded for 127.0.0.1.","documentation_url":"https://docs.github.com/rest"}""",
    ];

    private static readonly string[] GitLabBodies =
    [
        """{"statistics":{"counts":{"all":12,"closed":5,"opened":7}}}""",
        """{"message":"404 Project Not Found"}""",
        """{"message":{"labels":["is invalid"]}}""",
        """{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_api"}""",
        """[{"id":1,"iid":1,"title":"blocker"}]""",
    ];

    private static readonly string[] JiraBodies =
    [
        """{"count":17}""",
        """{"startAt":0,"maxResults":0,"total":1234,"issues":[]}""",
        """{"errorMessages":["Error in the JQL Query: Expecting operator but got 'x'."],"errors":{}}""",
        """{"errorMessages":[],"errors":{"jql":"The value 'NOPE' does not exist for the field 'project'."}}""",
    ];

    private static readonly string[] JsonBodies =
    [
        """{"sessions":{"bounceRate":0.42,"count":"1200"},"items":[{"the name":12.5},{"the name":true}],"ok":true}""",
        """{"sessions":{"bounceRate":"0.35"},"items":[]}""",
        """[1,2,3]""",
        """{"items":[{"the name":null}],"sessions":{"bounceRate":{"value":1}}}""",
    ];

    private static readonly string[] JsonPaths = ["$.sessions.bounceRate", "$.items[0]['the name']", "$[\"items\"][-1]", "$", "$.sessions.count", "$[2]", "$.ok", "$['\\uD83D\\uDE00']"];

    [Fact]
    public void PrometheusRead_MutatedResponses_ValueOrReason()
    {
        FuzzRun.Run("prometheus-read", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => ResponseFuzz.Generate(rng, PrometheusBodies), input =>
        {
            var (value, problem) = PrometheusSource.Read(ResponseFuzz.Response(input));
            AssertValueOrReason(value, problem);
        });
    }

    [Fact]
    public void JsonRead_MutatedDocuments_EverySignalValueOrReason()
    {
        var signals = JsonPaths.Select((p, i) => new JsonSignal($"s{i}", Path(p))).ToList();
        FuzzRun.Run("json-read", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => ResponseFuzz.Generate(rng, JsonBodies), input =>
        {
            using var document = ResponseFuzz.Response(input).Json(out var failure);
            if (document is null)
            {
                Assert.False(string.IsNullOrWhiteSpace(failure));
                return;
            }

            var (samples, problems) = JsonSource.Read(document.RootElement, signals);
            Assert.Equal(signals.Count, samples.Count + problems.Count);
            Assert.All(samples, s => Assert.True(double.IsFinite(s.Value), $"{s.Signal} = {s.Value}"));
            Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p)));
        });
    }

    [Fact]
    public void JsonPathTryParse_MutatedPaths_PathOrProblem()
    {
        using var document = JsonDocument.Parse(JsonBodies[0]);
        FuzzRun.Run("jsonpath-parse", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => Mutations.Mutate(rng, JsonPaths[rng.Next(JsonPaths.Length)]), text =>
        {
            if (JsonPath.TryParse(text, out var path, out var problem))
            {
                Assert.Null(problem);
                _ = path.TryFind(document.RootElement, out _);
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(problem));
            }
        });
    }

    [Fact]
    public void GitHubJudge_MutatedResponses_CountOrReason()
    {
        FuzzRun.Run("github-judge", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => ResponseFuzz.Generate(rng, GitHubBodies), input =>
        {
            var (samples, failure) = GitHubSource.Judge(new ApiResult(ResponseFuzz.Response(input), null));
            if (samples is null)
            {
                Assert.False(string.IsNullOrWhiteSpace(failure));
            }
            else
            {
                Assert.Null(failure);
                Assert.All(samples, s => Assert.True(double.IsFinite(s.Value) && s.Value >= 0, $"{s.Signal} = {s.Value}"));
            }
        });
    }

    [Theory]
    [InlineData("opened")]
    [InlineData("all")]
    public void GitLabFromStatistics_MutatedResponses_CountOrReason(string state)
    {
        FuzzRun.Run("gitlab-statistics-" + state, ResponseFuzz.Cases, ResponseFuzz.Limit, rng => ResponseFuzz.Generate(rng, GitLabBodies), input =>
        {
            var (count, failure) = GitLabSource.FromStatistics(new ApiResult(ResponseFuzz.Response(input), null), state);
            AssertCountOrReason(count, failure);
        });
    }

    [Fact]
    public void GitLabFromTotalHeader_MutatedHeader_CountOrReason()
    {
        FuzzRun.Run("gitlab-x-total", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => ResponseFuzz.Header(rng).Replace("\n", "", StringComparison.Ordinal) + "\n" + ResponseFuzz.Generate(rng, GitLabBodies), input =>
        {
            var newline = input.IndexOf('\n', StringComparison.Ordinal);
            var response = ResponseFuzz.Response(input[(newline + 1)..], ("X-Total", input[..newline]));
            var (count, failure) = GitLabSource.FromTotalHeader(new ApiResult(response, null));
            AssertCountOrReason(count, failure);
        });
    }

    [Theory]
    [InlineData("count")]
    [InlineData("total")]
    public void JiraJudge_MutatedResponses_CountOrReason(string field)
    {
        FuzzRun.Run("jira-judge-" + field, ResponseFuzz.Cases, ResponseFuzz.Limit, rng => ResponseFuzz.Generate(rng, JiraBodies), input =>
        {
            var (count, failure) = JiraSource.Judge(new ApiResult(ResponseFuzz.Response(input), null), field);
            AssertCountOrReason(count, failure);
        });
    }

    /// <summary>Retry-After (delta or date) and the x-ratelimit-* pair, as GitHub, GitLab and Jira send them.</summary>
    [Fact]
    public void ApiClientServerWait_MutatedHeaders_NoneOrNonNegativeWait()
    {
        var now = new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);
        string[] names = ["Retry-After", "x-ratelimit-remaining", "x-ratelimit-reset", "ratelimit-remaining", "ratelimit-reset", "Link"];
        FuzzRun.Run("api-server-wait", ResponseFuzz.Cases, ResponseFuzz.Limit, rng =>
        {
            // NAME=VALUE per line, then the response; the remaining count is usually "0" so the reset is read.
            var lines = names.Where(_ => rng.Next(2) == 0).Select(n => $"{n}={(n.EndsWith("remaining", StringComparison.Ordinal) && rng.Next(3) > 0 ? "0" : ResponseFuzz.Header(rng).Replace("\n", "", StringComparison.Ordinal))}");
            return string.Join('\n', lines) + "\n\n" + ResponseFuzz.Generate(rng, GitHubBodies);
        }, input =>
        {
            var split = input.IndexOf("\n\n", StringComparison.Ordinal);
            var headers = input[..split].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (l[..l.IndexOf('=', StringComparison.Ordinal)], l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..])).ToArray();
            var wait = ApiClient.ServerWait(ResponseFuzz.Response(input[(split + 2)..], headers), now);
            Assert.True(wait is null || wait >= TimeSpan.Zero, $"wait {wait}");
        });
    }

    [Fact]
    public void RedisInfoTryParseStats_MutatedInfo_StatsOrProblem()
    {
        const string info = "# Stats\r\ntotal_connections_received:12\r\ntotal_commands_processed:345\r\nkeyspace_hits:1000\r\nkeyspace_misses:250\r\nexpired_keys:0\r\n";
        var previous = new RedisStats(900, 200);
        FuzzRun.Run("redis-info", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => Mutations.Mutate(rng, info), text =>
        {
            if (RedisInfo.TryParseStats(text, out var stats, out var problem))
            {
                Assert.True(stats.Hits >= 0 && stats.Misses >= 0, $"{stats}");
                var increase = stats.IncreaseSince(previous);
                Assert.True(increase.Hits >= 0 && increase.Misses >= 0, $"{increase}");
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace(problem));
            }
        });
    }

    [Fact]
    public void DnsMessageTryParse_MutatedAnswers_ResponseOrProblem()
    {
        // Good answers to a query for shop.example.com (id 0x1234), one per type the source decodes, as bytes.
        var query = DnsMessage.Query(0x1234, "shop.example.com", 15);
        var owner = new byte[] { 0xC0, 0x0C, 0, 15, 0, 1, 0, 0, 0, 60 };
        byte[] mx = [.. owner, 0, 9, 0, 10, 4, .. "mail"u8.ToArray(), 0xC0, 0x11];
        byte[] header = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        byte[] seed = [.. header, .. query[12..], .. mx, .. mx];
        var seeds = new[] { Encoding.Latin1.GetString(seed) };
        FuzzRun.Run("dns-message", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => Mutations.Mutate(rng, seeds[0]), text =>
        {
            var bytes = Encoding.Latin1.GetBytes(text);
            var outcome = DnsMessage.TryParse(bytes, 0x1234, "shop.example.com", 15, out var response, out var problem);
            switch (outcome)
            {
                case DnsParse.Ok:
                    Assert.Equal("", problem);
                    Assert.True(response!.Answers.Count * 11 <= bytes.Length, $"{response.Answers.Count} answers in {bytes.Length} bytes");
                    Assert.All(response.Answers, a => Assert.True(a.Text is null || a.Text.Length <= 4 * bytes.Length));
                    break;
                case DnsParse.Bad:
                    Assert.False(string.IsNullOrWhiteSpace(problem));
                    break;
                default:
                    Assert.Null(response);
                    break;
            }
        });
    }

    [Fact]
    public void Http11Exchange_MutatedResponses_AnswerOrHttpFailure()
    {
        // Whole responses (head and body) as the http kind's own client reads them, fed in pieces of random sizes: the
        // exchange yields a response whose body reads to its end (within the cap), or an HttpRequestException or
        // IOException, which the probe turns into a reason; never another exception, never more body than sent.
        string[] seeds =
        [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.0 200 OK\r\n\r\nuntil the close",
            "HTTP/1.1 302 Found\r\nLocation: /next?a=1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 503\nTransfer-Encoding: gzip, chunked\n\n3\nabc\n0\n\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked,\r\nContent-Length:\r\n\t4\r\n\r\n004\r\nabcd\r\n0\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 301 Moved\r\nLocation:\r\n /x\r\n\r\n",
        ];
        FuzzRun.Run("http11-exchange", ResponseFuzz.Cases, ResponseFuzz.Limit, rng => rng.Next(1000) + "\n" + Mutations.Mutate(rng, seeds[rng.Next(seeds.Length)]), text =>
        {
            var newline = text.IndexOf('\n', StringComparison.Ordinal);
            var pieces = new Random(int.Parse(text[..newline], System.Globalization.CultureInfo.InvariantCulture));
            var bytes = Encoding.Latin1.GetBytes(text[(newline + 1)..]);
            var connection = new ScriptedConnection(bytes, pieces);
            try
            {
                // A HEAD now and then: its answer has no body, whatever the head says.
                var method = pieces.Next(4) == 0 ? HttpMethod.Head : HttpMethod.Get;
                using var response = Http11Exchange.SendAsync(connection, "GET / HTTP/1.1\r\n\r\n"u8.ToArray(), method, CancellationToken.None).GetAwaiter().GetResult();
                _ = response.Headers.Location;
                Assert.InRange((int)response.StatusCode, 100, 999);
                using var body = response.Content.ReadAsStream();
                var buffer = new byte[1024];
                var total = 0;
                int n;
                while ((n = body.Read(buffer, 0, buffer.Length)) > 0)
                {
                    total += n;
                }

                Assert.True(total <= bytes.Length, $"{total} body bytes from {bytes.Length} sent");
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        });
    }

    /// <summary>A connection whose reads return a script in pieces of random sizes, then its end; writes go nowhere.</summary>
    private sealed class ScriptedConnection(byte[] script, Random pieces) : Stream
    {
        private int _at;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, script.Length - _at), 1 + pieces.Next(64));
            Array.Copy(script, _at, buffer, offset, n);
            _at += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = Math.Min(Math.Min(buffer.Length, script.Length - _at), 1 + pieces.Next(64));
            script.AsSpan(_at, n).CopyTo(buffer.Span);
            _at += n;
            return ValueTask.FromResult(n);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static JsonPath Path(string text) =>
        JsonPath.TryParse(text, out var path, out var problem) ? path : throw new InvalidOperationException(problem);

    private static void AssertValueOrReason(double value, string? problem)
    {
        if (problem is null)
        {
            Assert.True(double.IsFinite(value), $"value {value} without a problem");
        }
        else
        {
            Assert.False(string.IsNullOrWhiteSpace(problem));
        }
    }

    private static void AssertCountOrReason(double count, string? failure)
    {
        if (failure is null)
        {
            Assert.True(double.IsFinite(count) && count >= 0, $"count {count} without a failure");
        }
        else
        {
            Assert.False(string.IsNullOrWhiteSpace(failure));
        }
    }
}
