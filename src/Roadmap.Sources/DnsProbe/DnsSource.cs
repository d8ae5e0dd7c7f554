using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.DnsProbe;

/// <summary>One dns probe target. See <see cref="DnsSourceKind"/>.</summary>
public sealed class DnsSource : ISource
{
    /// <summary>
    /// UDP datagrams with another id (late answers to an earlier probe, or forged ones) skipped before the probe fails:
    /// a server flooding them cannot keep the probe busy until its timeout.
    /// </summary>
    public const int MaxSkippedDatagrams = 16;

    /// <summary>The most of the answers quoted in a failure reason, in characters.</summary>
    private const int QuotedChars = 200;

    private readonly SourceContext _context;
    private readonly DnsOptions _options;
    private readonly ushort _type;
    private readonly Regex? _answer;
    private readonly HashSet<int> _rcodes;

    public DnsSource(SourceConfig config, SourceContext context)
    {
        Config = config;
        _context = context;
        _options = (DnsOptions)config.Options;
        _type = DnsMessage.Types[_options.Type];
        _answer = _options.ExpectAnswer is { } answer ? ProbePattern.Create(answer, whole: true) : null;
        _rcodes = [.. _options.ExpectRcodes.Select(code => DnsMessage.Rcodes.ToList().IndexOf(code))];
    }

    public SourceConfig Config { get; }

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var time = _context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(Config.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;
        var transport = "UDP";
        var skipped = 0;
        try
        {
            // The server's address goes through the network policy like any other connection's.
            var addresses = await _context.Network.ResolveAsync(_options.ServerHost, token);
            var server = new IPEndPoint(addresses[0], _options.ServerPort);
            var id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
            var query = DnsMessage.Query(id, _options.Name, _type);
            var asking = time.GetTimestamp();
            var (outcome, response, problem) = await AskOverUdpAsync(server, query, id, count => skipped = count, token);
            if (outcome == DnsParse.Ok && response!.Truncated)
            {
                transport = "TCP";
                (outcome, response, problem) = await AskOverTcpAsync(server, query, id, token);
            }

            var lookup = time.GetElapsedTime(asking);
            if (outcome == DnsParse.WrongId)
            {
                return Failed($"the answer over {transport} is to another query (its id differs)", started, lookup);
            }

            if (outcome == DnsParse.Bad)
            {
                return Failed($"bad answer over {transport}: {problem}", started, lookup);
            }

            return Judge(response!, started, lookup);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            var also = skipped > 0 ? $" ({skipped} answers to another query skipped)" : "";
            return Failed($"timeout after {Durations.Format(Config.Timeout)} waiting for an answer over {transport}{also}", started, null);
        }
        catch (NetworkDeniedException e)
        {
            return Failed(e.Message, started, null);
        }
        catch (SocketException e)
        {
            return Failed($"{NetworkErrors.Describe(e)} ({transport})", started, null);
        }
        catch (IOException e)
        {
            var reason = NetworkErrors.FindInner<SocketException>(e) is { } s ? NetworkErrors.Describe(s) : e.Message;
            return Failed($"connection error over {transport}: {reason}", started, null);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private PollResult Judge(DnsResponse response, long started, TimeSpan lookup)
    {
        var samples = new List<Sample>(3)
        {
            new(DnsSourceKind.Up, 0),
            new(DnsSourceKind.LookupSeconds, lookup.TotalSeconds),
            new(DnsSourceKind.AnswerCount, response.Answers.Count),
        };
        var duration = _context.Time.GetElapsedTime(started);
        if (!_rcodes.Contains(response.Rcode))
        {
            return PollResult.Failed($"rcode {DnsMessage.RcodeName(response.Rcode)}, expected {string.Join(" or ", _options.ExpectRcodes)}", duration, samples);
        }

        if (_answer is not null && !response.Answers.Any(a => a.Text is { } text && _answer.IsMatch(text)))
        {
            var answers = response.Answers.Where(a => a.Text is not null).Select(a => a.Text!).ToList();
            var quoted = answers.Count == 0 ? $"no {_options.Type} answer" : $"{_options.Type} answers: {ServerText.Shorten(string.Join(", ", answers), QuotedChars)}";
            return PollResult.Failed($"no answer matched expect.answer ({quoted})", duration, samples);
        }

        samples[0] = new(DnsSourceKind.Up, 1);
        return PollResult.Ok(samples, duration);
    }

    private PollResult Failed(string reason, long started, TimeSpan? lookup)
    {
        var samples = new List<Sample>(2) { new(DnsSourceKind.Up, 0) };
        if (lookup is { } l)
        {
            samples.Add(new(DnsSourceKind.LookupSeconds, l.TotalSeconds));
        }

        return PollResult.Failed(reason, _context.Time.GetElapsedTime(started), samples);
    }

    /// <summary>
    /// Sends the query in one datagram and waits for the answer with its id; answers with another id are skipped, at
    /// most <see cref="MaxSkippedDatagrams"/>. The socket is connected, so the kernel drops datagrams from elsewhere.
    /// </summary>
    private async Task<(DnsParse Outcome, DnsResponse? Response, string Problem)> AskOverUdpAsync(
        IPEndPoint server, byte[] query, ushort id, Action<int> skippedSoFar, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken);

        // One byte more than a message can hold: a datagram that fills it is too long, not silently cut.
        var buffer = new byte[DnsMessage.MaxMessageBytes + 1];
        for (var skipped = 0; ; skipped++)
        {
            skippedSoFar(skipped);
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            var outcome = DnsMessage.TryParse(buffer.AsSpan(0, n), id, _options.Name, _type, out var response, out var problem);
            if (outcome != DnsParse.WrongId)
            {
                return (outcome, response, problem);
            }

            if (skipped + 1 >= MaxSkippedDatagrams)
            {
                return (DnsParse.Bad, null, $"{MaxSkippedDatagrams} answers to another query (their ids differ), none to this one");
            }
        }
    }

    /// <summary>The query again over TCP (RFC 7766): each message behind its 2-byte length.</summary>
    private async Task<(DnsParse Outcome, DnsResponse? Response, string Problem)> AskOverTcpAsync(
        IPEndPoint server, byte[] query, ushort id, CancellationToken cancellationToken)
    {
        using var socket = await GuardedConnect.ConnectSocketAsync([server.Address], server.Port, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed, cancellationToken);

        var prefix = new byte[2];
        if (await stream.ReadAtLeastAsync(prefix, 2, throwOnEndOfStream: false, cancellationToken) < 2)
        {
            return (DnsParse.Bad, null, "the server closed the connection without an answer");
        }

        // The prefix bounds the message at 65,535 bytes.
        var length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
        var message = new byte[length];
        var read = await stream.ReadAtLeastAsync(message, length, throwOnEndOfStream: false, cancellationToken);
        if (read < length)
        {
            return (DnsParse.Bad, null, $"the server closed the connection after {read} of the {length} bytes it announced");
        }

        var outcome = DnsMessage.TryParse(message, id, _options.Name, _type, out var response, out var problem);
        if (outcome == DnsParse.Ok && response!.Truncated)
        {
            return (DnsParse.Bad, null, "the answer is truncated over TCP too");
        }

        return (outcome, response, problem);
    }
}
