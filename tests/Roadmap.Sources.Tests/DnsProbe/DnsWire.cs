using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Roadmap.Sources.Tests.DnsProbe;

/// <summary>
/// DNS messages written byte by byte for the tests, independently of the code under test: responses to a query with
/// chosen flags, counts and records, well-formed or hostile.
/// </summary>
internal static class DnsWire
{
    public const ushort A = 1, Ns = 2, Cname = 5, Soa = 6, Mx = 15, Txt = 16, Aaaa = 28, Srv = 33;

    /// <summary>The id of a query.</summary>
    public static ushort Id(byte[] query) => BinaryPrimitives.ReadUInt16BigEndian(query);

    /// <summary>The question section of a query (name, type, class), copied as sent.</summary>
    public static byte[] Question(byte[] query)
    {
        var at = 12;
        while (query[at] != 0)
        {
            at += query[at] + 1;
        }

        return query[12..(at + 5)];
    }

    /// <summary>
    /// A response to <paramref name="query"/>: its id (or <paramref name="id"/>), QR and RD set, RA set,
    /// <paramref name="rcode"/>, TC when <paramref name="truncated"/>, the question echoed, and the records, each
    /// already encoded by <see cref="Record"/>. The answer count says <paramref name="claimedAnswers"/> when given.
    /// </summary>
    public static byte[] Response(byte[] query, byte[][] records, int rcode = 0, bool truncated = false, ushort? id = null, int? claimedAnswers = null, byte[]? question = null)
    {
        var body = new List<byte>();
        var header = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(header, id ?? Id(query));
        header[2] = (byte)(0x81 | (truncated ? 0x02 : 0));
        header[3] = (byte)(0x80 | rcode);
        header[5] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)(claimedAnswers ?? records.Length));
        body.AddRange(header);
        body.AddRange(question ?? Question(query));
        foreach (var record in records)
        {
            body.AddRange(record);
        }

        return [.. body];
    }

    /// <summary>A record whose owner is a pointer to the question's name (offset 12), class IN, TTL 60.</summary>
    public static byte[] Record(ushort type, byte[] data) => [0xC0, 0x0C, .. U16(type), 0, 1, 0, 0, 0, 60, .. U16((ushort)data.Length), .. data];

    public static byte[] ARecord(string address) => Record(A, IPAddress.Parse(address).GetAddressBytes());

    /// <summary>A name as uncompressed labels: "mail.example.com" → 4mail7example3com0.</summary>
    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    public static byte[] U16(ushort value) => [(byte)(value >> 8), (byte)value];
}
