using Roadmap.Sources.Api;
using Roadmap.Sources.Json;
using Roadmap.Sources.Prometheus;

namespace Roadmap.Sources.Tests.Fuzzing;

/// <summary>What the response fuzzers found, one case each, so each fix stays fixed whatever the fuzzer's seed.</summary>
public class FuzzFindingsTests
{
    private static ApiResponse Response(byte[] body, params (string Name, string Value)[] headers)
    {
        var message = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        return new ApiResponse(200, "OK", message.Headers, "application/json", body);
    }

    public static TheoryData<byte[]> BadStrings() => new()
    {
        // Invalid UTF-8 inside a string value: JsonDocument.Parse accepted it, GetString() then threw.
        { [.. "{\"status\":\""u8, 0xF0, 0x9F, 0x98, .. "success\"}"u8] },
        // ... and in a property name.
        { [.. "{\""u8, 0xFF, .. "\":1}"u8] },
        // An escaped lone surrogate: valid JSON syntax, not text.
        { Encoding.UTF8.GetBytes("{\"status\":\"\\uD800\"}") },
    };

    [Theory]
    [MemberData(nameof(BadStrings))]
    public void ApiResponseJson_StringNotUnicode_FailureNotException(byte[] body)
    {
        var document = Response(body).Json(out var failure);

        Assert.Null(document);
        Assert.StartsWith("malformed JSON: a string at byte ", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void PrometheusRead_StatusNotUnicode_Failure()
    {
        var (_, problem) = PrometheusSource.Read(Response([.. "{\"status\":\""u8, 0xFF, .. "\"}"u8]));

        Assert.StartsWith("malformed JSON", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("9223372036854775807")]
    [InlineData("253402300800")]
    public void ApiClientServerWait_ResetPastYear9999_Ignored(string reset)
    {
        var response = Response("{}"u8.ToArray(), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset));

        Assert.Null(ApiClient.ServerWait(response, new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void ApiClientServerWait_ResetAtYear9999_Wait()
    {
        var response = Response("{}"u8.ToArray(), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "253402300799"));

        Assert.True(ApiClient.ServerWait(response, new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero)) > TimeSpan.FromDays(365 * 7000));
    }

    // The surrogate goes in at run time: a lone one does not survive xUnit's serialization of test data (it becomes U+FFFD).
    [Theory]
    [InlineData("$.se{0}ssions", 0xDAC3, 5)]
    [InlineData("$['{0}']", 0xD800, 4)]
    [InlineData("$.a{0}", 0xDC00, 4)]
    public void JsonPathTryParse_HalfASurrogatePair_Problem(string format, int surrogate, int at)
    {
        var text = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, (char)surrogate);

        Assert.False(JsonPath.TryParse(text, out _, out var problem));
        Assert.Equal($"invalid character at {at} (half of a UTF-16 surrogate pair)", problem);
    }

    // Escaped halves passed validation and then threw on every poll (System.Text.Json refuses to look them up).
    [Theory]
    [InlineData(@"$['\uD800']", @"bad escape ""\uD800"" at character 4: half of a UTF-16 surrogate pair")]
    [InlineData(@"$[""\udc00""]", @"bad escape ""\udc00"" at character 4: half of a UTF-16 surrogate pair")]
    [InlineData(@"$.a['x\uDBFF']", @"bad escape ""\uDBFF"" at character 7: half of a UTF-16 surrogate pair")]
    [InlineData(@"$['\uD83D\u0041']", @"bad escape ""\uD83D"" at character 4: half of a UTF-16 surrogate pair")]
    [InlineData(@"$['\uDE00\uD83D']", @"bad escape ""\uDE00"" at character 4: half of a UTF-16 surrogate pair")]
    public void JsonPathTryParse_EscapedHalfOfASurrogatePair_Problem(string text, string expected)
    {
        Assert.False(JsonPath.TryParse(text, out _, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void JsonPathTryFind_EscapedSurrogatePair_FindsTheMember()
    {
        using var document = System.Text.Json.JsonDocument.Parse("{\"\\uD83D\\uDE00\": 7}");

        Assert.True(JsonPath.TryParse(@"$['\uD83D\uDE00']", out var path, out var problem), problem);
        Assert.True(path.TryFind(document.RootElement, out var value));
        Assert.Equal(7, value.GetInt32());
    }

    [Fact]
    public void JsonPathTryParse_WholeSurrogatePair_Parses()
    {
        Assert.True(JsonPath.TryParse("$.😀", out _, out var problem), problem);
    }
}
