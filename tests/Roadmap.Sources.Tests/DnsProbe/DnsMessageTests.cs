using System.Text;
using Roadmap.Sources.DnsProbe;

namespace Roadmap.Sources.Tests.DnsProbe;

/// <summary>The wire format: the query written, answers decoded to zone-file text, and every bound of the reader.</summary>
public class DnsMessageTests
{
    private const ushort QueryId = 0x1234;

    private static byte[] Query(string name = "shop.example.com", ushort type = DnsWire.A) => DnsMessage.Query(QueryId, name, type);

    private static (DnsParse Outcome, DnsResponse? Response, string Problem) Parse(byte[] message, string name = "shop.example.com", ushort type = DnsWire.A)
    {
        var outcome = DnsMessage.TryParse(message, QueryId, name, type, out var response, out var problem);
        return (outcome, response, problem);
    }

    [Fact]
    public void Query_Name_WritesHeaderAndQuestion()
    {
        var query = Query("shop.example.com.", DnsWire.Mx);

        Assert.Equal<byte>([0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, .. DnsWire.Name("shop.example.com"), 0, 15, 0, 1], query);
    }

    [Fact]
    public void Query_Root_IsOneZeroByte()
    {
        Assert.Equal<byte>([0, 0, 2, 0, 1], Query(".", DnsWire.Ns)[12..]);
    }

    public static TheoryData<ushort, byte[], string> Records() => new()
    {
        { DnsWire.Aaaa, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "2001:db8::1" },
        { DnsWire.Mx, [0, 10, .. DnsWire.Name("mail.example.com")], "10 mail.example.com." },
        { DnsWire.Cname, [0xC0, 0x0C], "shop.example.com." },
        { DnsWire.Ns, [3, (byte)'n', (byte)'s', (byte)'1', 0xC0, 0x11], "ns1.example.com." },
        { DnsWire.Txt, [5, .. "v=a b"u8.ToArray(), 3, .. "c\"\\"u8.ToArray()], "v=a bc\"\\\\" },
        { DnsWire.Srv, [0, 1, 0, 2, 0x01, 0xBB, .. DnsWire.Name("web.example.com")], "1 2 443 web.example.com." },
        { DnsWire.Soa, [.. DnsWire.Name("ns.example.com"), .. DnsWire.Name("admin.example.com"), 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4], "ns.example.com. admin.example.com. 7 1 2 3 4" },
        { DnsWire.A, [10, 0, 0, 5], "10.0.0.5" },
        { DnsWire.Cname, [3, (byte)'a', (byte)'.', 0x07, 0], "a\\.\\007." },
    };

    [Theory]
    [MemberData(nameof(Records))]
    public void TryParse_RecordOfTheAskedType_DecodesItsData(ushort type, byte[] data, string expected)
    {
        var query = Query(type: type);

        var (outcome, response, problem) = Parse(DnsWire.Response(query, [DnsWire.Record(type, data)]), type: type);

        Assert.Equal(DnsParse.Ok, outcome);
        Assert.Equal("", problem);
        Assert.Equal(new DnsRecord(type, expected), Assert.Single(response!.Answers));
    }

    [Fact]
    public void TryParse_CnameChainForAnA_CountsBothDecodesOnlyTheA()
    {
        var query = Query();

        var (_, response, _) = Parse(DnsWire.Response(query, [DnsWire.Record(DnsWire.Cname, DnsWire.Name("edge.cdn.net")), DnsWire.ARecord("10.0.0.5")]));

        Assert.Equal([new DnsRecord(DnsWire.Cname, null), new DnsRecord(DnsWire.A, "10.0.0.5")], response!.Answers);
    }

    [Fact]
    public void TryParse_NameInAnotherCase_IsTheSameQuestion()
    {
        var query = Query();

        var (outcome, _, problem) = Parse(DnsWire.Response(query, [], question: [.. DnsWire.Name("SHOP.Example.COM"), 0, 1, 0, 1]));

        Assert.Equal(DnsParse.Ok, outcome);
        Assert.Equal("", problem);
    }

    [Fact]
    public void TryParse_AnotherId_IsWrongIdNotBad()
    {
        var (outcome, response, _) = Parse(DnsWire.Response(Query(), [], id: QueryId + 1));

        Assert.Equal(DnsParse.WrongId, outcome);
        Assert.Null(response);
    }

    [Fact]
    public void TryParse_TruncatedFlag_ReportsTruncatedWithoutReadingAnswers()
    {
        var (outcome, response, _) = Parse(DnsWire.Response(Query(), [], truncated: true, claimedAnswers: 9));

        Assert.Equal(DnsParse.Ok, outcome);
        Assert.True(response!.Truncated);
        Assert.Empty(response.Answers);
    }

    public static TheoryData<string, byte[], string> HostileRecords() => new()
    {
        { "forward pointer", [0xC0, 0x7F], "answer 1 of 1: a name's compression pointer does not point backwards (a loop?)" },
        { "pointer to itself", [0xC0, 0xFF], "answer 1 of 1: a name's compression pointer does not point backwards (a loop?)" },
        { "reserved label type", [0x40, 0x00], "answer 1 of 1: a label of reserved type 0x40" },
        { "label past the end", [0x3F, 1, 2, 3], "answer 1 of 1: a label runs past the end of its data" },
        { "short A record", DnsWire.Record(DnsWire.A, [10, 0, 0]), "answer 1 of 1: an A record of 3 bytes" },
        { "data longer than the message", [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0xFF, 0xFF, 1, 2, 3, 4], "answer 1 of 1: its data (65535 bytes) runs past the end of the message (50 bytes)" },
        { "name past the record's data", DnsWire.Record(DnsWire.Cname, [4, (byte)'e', (byte)'d']), "answer 1 of 1: a label runs past the end of its data" },
    };

    [Theory]
    [MemberData(nameof(HostileRecords))]
    public void TryParse_HostileRecord_BadWithItsProblem(string what, byte[] record, string expected)
    {
        var query = Query(type: record.Length > 3 && record[3] == DnsWire.Cname ? DnsWire.Cname : DnsWire.A);
        var type = record.Length > 3 && record[3] == DnsWire.Cname ? DnsWire.Cname : DnsWire.A;
        var message = DnsWire.Response(query, [record]);

        var (outcome, _, problem) = Parse(message, type: type);

        Assert.True(DnsParse.Bad == outcome, what);
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void TryParse_PointerChainGoingBackwards_IsFollowed()
    {
        // owner -> "cdn" + pointer to the question's "example.com" (offset 17), itself read from the question.
        var query = Query(type: DnsWire.Cname);
        var record = DnsWire.Record(DnsWire.Cname, [3, (byte)'c', (byte)'d', (byte)'n', 0xC0, 17]);

        var (_, response, problem) = Parse(DnsWire.Response(query, [record]), type: DnsWire.Cname);

        Assert.Equal("", problem);
        Assert.Equal("cdn.example.com.", Assert.Single(response!.Answers).Text);
    }

    [Fact]
    public void TryParse_NameOverTheWireCap_Bad()
    {
        // 5 labels of 63 bytes: 320 bytes, past the 255 a name may hold.
        var name = string.Join('.', Enumerable.Repeat(new string('a', 63), 5));
        var query = Query(type: DnsWire.Cname);

        var (outcome, _, problem) = Parse(DnsWire.Response(query, [DnsWire.Record(DnsWire.Cname, DnsWire.Name(name))]), type: DnsWire.Cname);

        Assert.Equal(DnsParse.Bad, outcome);
        Assert.Equal($"answer 1 of 1: a name longer than {DnsMessage.MaxNameBytes} bytes", problem);
    }

    [Theory]
    [InlineData(0, "the message is 0 bytes long, shorter than a DNS header")]
    [InlineData(11, "the message is 11 bytes long, shorter than a DNS header")]
    public void TryParse_ShorterThanAHeader_Bad(int length, string expected)
    {
        var (outcome, _, problem) = Parse(new byte[length]);

        Assert.Equal(DnsParse.Bad, outcome);
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void TryParse_AQueryEchoedBack_Bad()
    {
        var (outcome, _, problem) = Parse(Query());

        Assert.Equal(DnsParse.Bad, outcome);
        Assert.Equal("the message is a query, not a response", problem);
    }

    [Fact]
    public void TryParse_OverTheMessageCap_Bad()
    {
        var (outcome, _, problem) = Parse(new byte[DnsMessage.MaxMessageBytes + 1]);

        Assert.Equal(DnsParse.Bad, outcome);
        Assert.Equal($"the message is {DnsMessage.MaxMessageBytes + 1} bytes long, more than {DnsMessage.MaxMessageBytes}", problem);
    }

    [Theory]
    [InlineData("shop.example.com", null)]
    [InlineData("_sip._tcp.example.com.", null)]
    [InlineData(".", null)]
    [InlineData("a..b", "each label (the parts between dots) must have 1 to 63 characters")]
    [InlineData("bücher.de", "'ü' is not allowed in a name: letters, digits, '-' and '_' (an internationalized name in its xn-- form)")]
    [InlineData("a b", "' ' is not allowed in a name: letters, digits, '-' and '_' (an internationalized name in its xn-- form)")]
    public void CheckName_Names_ProblemOrNone(string name, string? expected)
    {
        Assert.Equal(expected, DnsMessage.CheckName(name));
    }

    [Fact]
    public void CheckName_LongLabelAndLongName_Refused()
    {
        Assert.NotNull(DnsMessage.CheckName(new string('a', 64) + ".com"));
        Assert.NotNull(DnsMessage.CheckName(string.Join('.', Enumerable.Repeat(new string('a', 60), 5))));
        Assert.Null(DnsMessage.CheckName(string.Join('.', Enumerable.Repeat(new string('a', 61), 4))));
    }

    [Fact]
    public void TryParse_EveryTruncationOfAGoodAnswer_BadOrOkNeverThrows()
    {
        var query = Query(type: DnsWire.Mx);
        var message = DnsWire.Response(query, [DnsWire.Record(DnsWire.Mx, [0, 10, 4, .. Encoding.ASCII.GetBytes("mail"), 0xC0, 0x11]), DnsWire.Record(DnsWire.Mx, [0, 20, 0xC0, 0x0C])]);

        for (var length = 0; length < message.Length; length++)
        {
            var (outcome, _, problem) = Parse(message[..length], type: DnsWire.Mx);
            Assert.True(outcome == DnsParse.Bad, $"length {length}: {outcome}");
            Assert.NotEmpty(problem);
        }

        Assert.Equal(["10 mail.example.com.", "20 shop.example.com."], Parse(message, type: DnsWire.Mx).Response!.Answers.Select(a => a.Text));
    }
}
