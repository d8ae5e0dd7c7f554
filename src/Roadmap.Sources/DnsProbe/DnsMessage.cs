using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;

namespace Roadmap.Sources.DnsProbe;

/// <summary>A record of a DNS answer section: its type, and its data in zone-file form when it was decoded.</summary>
/// <param name="Type">The record type, e.g. 1 for A.</param>
/// <param name="Text">The data as a zone file writes it (<c>10.0.0.5</c>, <c>10 mail.example.com.</c>); null for a
/// record of another type or class than the question's, which is counted but not decoded.</param>
public readonly record struct DnsRecord(ushort Type, string? Text);

/// <summary>A parsed DNS response.</summary>
/// <param name="Rcode">The response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...).</param>
/// <param name="Truncated">The TC flag: the answer did not fit (UDP); its records are not read.</param>
/// <param name="Answers">The answer section, in order.</param>
public sealed record DnsResponse(int Rcode, bool Truncated, IReadOnlyList<DnsRecord> Answers);

/// <summary>What <see cref="DnsMessage.TryParse"/> made of a message.</summary>
public enum DnsParse
{
    /// <summary>A response to the query.</summary>
    Ok,

    /// <summary>A response to another query (its id differs): over UDP it may be a late or forged one, and is skipped.</summary>
    WrongId,

    /// <summary>Not a well-formed response to the query; the problem says why.</summary>
    Bad,
}

/// <summary>
/// The DNS wire format (RFC 1035), written here rather than taken from a library so every bound is ours and the
/// native build needs nothing more: the query of one question, and a strict reader of the response. The server is not
/// trusted. A message is at most 65,535 bytes (a UDP datagram or a TCP length prefix can say no more); every count,
/// length and pointer is checked against the bytes really there; a compression pointer must point before the one that
/// led to it, so pointers cannot loop; a name is at most 255 bytes and a label 63.
/// </summary>
internal static class DnsMessage
{
    /// <summary>A message is never longer: the largest a UDP datagram or a TCP length prefix can carry.</summary>
    public const int MaxMessageBytes = 65535;

    /// <summary>The longest name on the wire, its length bytes included (RFC 1035 §2.3.4).</summary>
    public const int MaxNameBytes = 255;

    private const int HeaderBytes = 12;
    private const ushort ClassIn = 1;

    /// <summary>The record types a source may ask for, by name.</summary>
    public static readonly IReadOnlyDictionary<string, ushort> Types = new Dictionary<string, ushort>(StringComparer.Ordinal)
    {
        ["A"] = 1,
        ["NS"] = 2,
        ["CNAME"] = 5,
        ["SOA"] = 6,
        ["PTR"] = 12,
        ["MX"] = 15,
        ["TXT"] = 16,
        ["AAAA"] = 28,
        ["SRV"] = 33,
    };

    /// <summary>The response codes by name (RFC 1035, RFC 2136), the index being the code.</summary>
    public static readonly IReadOnlyList<string> Rcodes =
        ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"];

    /// <summary>The name of a response code, or its number.</summary>
    public static string RcodeName(int rcode) => rcode < Rcodes.Count ? Rcodes[rcode] : rcode.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Why <paramref name="name"/> cannot be asked for; null when it can. ASCII only (an internationalized name in its
    /// <c>xn--</c> form), labels of 1 to 63 bytes, at most 255 bytes on the wire; a final dot is optional, and
    /// <c>.</c> is the root.
    /// </summary>
    public static string? CheckName(string name)
    {
        if (name == ".")
        {
            return null;
        }

        var trimmed = name.EndsWith('.') ? name[..^1] : name;
        if (trimmed.Length == 0)
        {
            return "must not be empty";
        }

        if (trimmed.Length + 2 > MaxNameBytes)
        {
            return $"is longer than {MaxNameBytes - 2} characters";
        }

        foreach (var label in trimmed.Split('.'))
        {
            if (label.Length is 0 or > 63)
            {
                return "each label (the parts between dots) must have 1 to 63 characters";
            }

            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                {
                    return $"'{c}' is not allowed in a name: letters, digits, '-' and '_' (an internationalized name in its xn-- form)";
                }
            }
        }

        return null;
    }

    /// <summary>A query for one question (<paramref name="name"/> checked by <see cref="CheckName"/>), recursion desired.</summary>
    public static byte[] Query(ushort id, string name, ushort type)
    {
        var labels = name.TrimEnd('.');
        var nameBytes = labels.Length == 0 ? 1 : labels.Length + 2;
        var query = new byte[HeaderBytes + nameBytes + 4];
        BinaryPrimitives.WriteUInt16BigEndian(query, id);
        query[2] = 0x01; // RD
        query[5] = 1; // QDCOUNT
        var at = HeaderBytes;
        if (labels.Length > 0)
        {
            foreach (var label in labels.Split('.'))
            {
                query[at++] = (byte)label.Length;
                at += Encoding.ASCII.GetBytes(label, query.AsSpan(at));
            }
        }

        query[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(at), type);
        BinaryPrimitives.WriteUInt16BigEndian(query.AsSpan(at + 2), ClassIn);
        return query;
    }

    /// <summary>
    /// Reads <paramref name="message"/> as the response to the query <paramref name="id"/> for <paramref name="name"/>
    /// and <paramref name="type"/>. Never throws: a malformed message is <see cref="DnsParse.Bad"/> with the problem.
    /// </summary>
    public static DnsParse TryParse(ReadOnlySpan<byte> message, ushort id, string name, ushort type, out DnsResponse? response, out string problem)
    {
        response = null;
        problem = "";
        try
        {
            return Parse(message, id, name, type, out response);
        }
        catch (DnsFormatException e)
        {
            problem = e.Message;
            return DnsParse.Bad;
        }
    }

    private static DnsParse Parse(ReadOnlySpan<byte> message, ushort id, string name, ushort type, out DnsResponse? response)
    {
        response = null;
        if (message.Length > MaxMessageBytes)
        {
            throw new DnsFormatException($"the message is {message.Length} bytes long, more than {MaxMessageBytes}");
        }

        if (message.Length < HeaderBytes)
        {
            throw new DnsFormatException($"the message is {message.Length} bytes long, shorter than a DNS header");
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(message) != id)
        {
            return DnsParse.WrongId;
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & 0x8000) == 0)
        {
            throw new DnsFormatException("the message is a query, not a response");
        }

        if (((flags >> 11) & 0xF) != 0)
        {
            throw new DnsFormatException($"the response has opcode {(flags >> 11) & 0xF}, not 0 (QUERY)");
        }

        var truncated = (flags & 0x0200) != 0;
        var rcode = flags & 0xF;
        var questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var at = HeaderBytes;
        if (questions == 1)
        {
            var asked = ReadName(message, ref at);
            var askedType = ReadUInt16(message, ref at, "the question");
            var askedClass = ReadUInt16(message, ref at, "the question");
            if (!SameName(asked, name) || askedType != type || askedClass != ClassIn)
            {
                throw new DnsFormatException($"the response is to another question ({ServerText.Shorten(asked, 80)} type {askedType} class {askedClass})");
            }
        }
        else if (questions != 0 || rcode == 0)
        {
            // A server may leave the question out of an error (FORMERR, NOTIMP); a good answer repeats it once.
            throw new DnsFormatException($"the response holds {questions} questions, not the 1 asked");
        }

        if (truncated)
        {
            response = new DnsResponse(rcode, Truncated: true, []);
            return DnsParse.Ok;
        }

        // Each record takes at least 11 bytes, so the message's length bounds the list whatever the count claims.
        var records = new List<DnsRecord>(Math.Min((int)answers, (message.Length - at) / 11));
        for (var i = 0; i < answers; i++)
        {
            try
            {
                records.Add(ReadRecord(message, ref at, type));
            }
            catch (DnsFormatException e)
            {
                throw new DnsFormatException($"answer {i + 1} of {answers}: {e.Message}");
            }
        }

        response = new DnsResponse(rcode, Truncated: false, records);
        return DnsParse.Ok;
    }

    private static DnsRecord ReadRecord(ReadOnlySpan<byte> message, ref int at, ushort asked)
    {
        ReadName(message, ref at);
        var type = ReadUInt16(message, ref at, "the record");
        var @class = ReadUInt16(message, ref at, "the record");
        at += 4; // TTL
        var length = ReadUInt16(message, ref at, "the record");
        if (at + length > message.Length)
        {
            throw new DnsFormatException($"its data ({length} bytes) runs past the end of the message ({message.Length} bytes)");
        }

        var start = at;
        at += length;
        if (type != asked || @class != ClassIn)
        {
            return new DnsRecord(type, null);
        }

        return new DnsRecord(type, ReadData(message, start, length, type));
    }

    /// <summary>The record data of a type in <see cref="Types"/>, in zone-file form; every byte of it must be used.</summary>
    private static string ReadData(ReadOnlySpan<byte> message, int start, int length, ushort type)
    {
        var end = start + length;
        var data = message[start..end];
        var at = start;
        string text;
        switch (type)
        {
            case 1 or 28:
                if (length != (type == 1 ? 4 : 16))
                {
                    throw new DnsFormatException($"an {(type == 1 ? "A" : "AAAA")} record of {length} bytes");
                }

                return new IPAddress(data).ToString();
            case 2 or 5 or 12:
                text = ReadName(message, ref at, end);
                break;
            case 15:
                var preference = ReadUInt16(message, ref at, "the MX record", end);
                text = $"{preference} {ReadName(message, ref at, end)}";
                break;
            case 33:
                var priority = ReadUInt16(message, ref at, "the SRV record", end);
                var weight = ReadUInt16(message, ref at, "the SRV record", end);
                var port = ReadUInt16(message, ref at, "the SRV record", end);
                text = $"{priority} {weight} {port} {ReadName(message, ref at, end)}";
                break;
            case 6:
                var primary = ReadName(message, ref at, end);
                var mailbox = ReadName(message, ref at, end);
                if (end - at != 20)
                {
                    throw new DnsFormatException("the SOA record's numbers are not 20 bytes");
                }

                var numbers = new uint[5];
                for (var i = 0; i < 5; i++)
                {
                    numbers[i] = BinaryPrimitives.ReadUInt32BigEndian(message[(at + (4 * i))..]);
                }

                at = end;
                text = $"{primary} {mailbox} {string.Join(' ', numbers)}";
                break;
            case 16:
                var txt = new StringBuilder();
                while (at < end)
                {
                    var n = message[at++];
                    if (at + n > end)
                    {
                        throw new DnsFormatException("a TXT string runs past the record's data");
                    }

                    AppendEscaped(txt, message.Slice(at, n), escapeDot: false);
                    at += n;
                }

                return txt.ToString();
            default:
                return Convert.ToHexString(data);
        }

        if (at != end)
        {
            throw new DnsFormatException("the record's data is longer than what it holds");
        }

        return text;
    }

    /// <summary>
    /// The name at <paramref name="at"/>, absolute (ending in a dot), and moves <paramref name="at"/> past it (past its
    /// first pointer, if any). Its own bytes must end by <paramref name="end"/> (default: the message's end); a pointer
    /// may lead anywhere before it.
    /// </summary>
    private static string ReadName(ReadOnlySpan<byte> message, ref int at, int end = -1)
    {
        // Where the bytes being read must end: the name's own data at first, the message after a pointer.
        var bound = end < 0 ? message.Length : end;
        var text = new StringBuilder();
        var position = at;
        var wireBytes = 1;
        int? lastTarget = null;
        while (true)
        {
            if (position >= bound)
            {
                throw new DnsFormatException("a name runs past the end of its data");
            }

            var length = message[position];
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= bound)
                {
                    throw new DnsFormatException("a name's compression pointer runs past the end of its data");
                }

                var target = ((length & 0x3F) << 8) | message[position + 1];

                // Before the pointer, and each one further back than the last: no loop can form, and the jumps are
                // fewer than the message's bytes.
                if (target >= (lastTarget ?? position))
                {
                    throw new DnsFormatException("a name's compression pointer does not point backwards (a loop?)");
                }

                if (lastTarget is null)
                {
                    at = position + 2;
                }

                lastTarget = target;
                position = target;
                bound = message.Length;
                continue;
            }

            if ((length & 0xC0) != 0)
            {
                throw new DnsFormatException($"a label of reserved type 0x{length & 0xC0:X2}");
            }

            position++;
            if (length == 0)
            {
                break;
            }

            wireBytes += length + 1;
            if (wireBytes > MaxNameBytes)
            {
                throw new DnsFormatException($"a name longer than {MaxNameBytes} bytes");
            }

            if (position + length > bound)
            {
                throw new DnsFormatException("a label runs past the end of its data");
            }

            AppendEscaped(text, message.Slice(position, length), escapeDot: true);
            text.Append('.');
            position += length;
        }

        if (lastTarget is null)
        {
            at = position;
        }

        return text.Length == 0 ? "." : text.ToString();
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> message, ref int at, string what, int end = -1)
    {
        end = end < 0 ? message.Length : end;
        if (at + 2 > end)
        {
            throw new DnsFormatException($"{what} runs past the end of its data");
        }

        var value = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
        at += 2;
        return value;
    }

    /// <summary>Printable ASCII as is, the rest as <c>\DDD</c>, and <c>\</c> (and in a label <c>.</c>) escaped: zone-file form.</summary>
    private static void AppendEscaped(StringBuilder text, ReadOnlySpan<byte> bytes, bool escapeDot)
    {
        foreach (var b in bytes)
        {
            if (b is < 0x21 or > 0x7E && !(b == 0x20 && !escapeDot))
            {
                text.Append('\\').Append(b.ToString("D3", CultureInfo.InvariantCulture));
            }
            else
            {
                if (b == '\\' || (escapeDot && b == '.'))
                {
                    text.Append('\\');
                }

                text.Append((char)b);
            }
        }
    }

    private static bool SameName(string answered, string asked) =>
        string.Equals(answered.TrimEnd('.'), asked.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);

    private sealed class DnsFormatException(string message) : Exception(message);
}
