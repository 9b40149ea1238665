using System.Buffers;
using System.Text;
using CsCheck;
using Kv.Protocol.Resp;

namespace Kv.Protocol.Tests.Resp;

public sealed class RespRequestParserTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>A sequence of the given bytes cut into segments at the given offsets.</summary>
    internal static ReadOnlySequence<byte> Segmented(byte[] bytes, params int[] cuts)
    {
        var points = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().ToList();
        if (points.Count == 0) return new ReadOnlySequence<byte>(bytes);
        var bounds = new List<int> { 0 };
        bounds.AddRange(points);
        bounds.Add(bytes.Length);
        Segment? first = null, last = null;
        for (var i = 0; i + 1 < bounds.Count; i++)
        {
            var memory = bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]).ToArray();
            if (first is null) first = last = new Segment(memory, 0);
            else last = last!.Append(memory);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private static List<string[]> ParseAll(ReadOnlySequence<byte> buffer, RespRequestParser parser, out RespParseStatus last)
    {
        var request = new RespRequest();
        var result = new List<string[]>();
        while (true)
        {
            last = parser.TryParse(buffer, request, out var consumed);
            if (last != RespParseStatus.Complete) return result;
            var args = new string[request.Count];
            for (var i = 0; i < request.Count; i++) args[i] = Encoding.Latin1.GetString(request[i]);
            result.Add(args);
            buffer = buffer.Slice(consumed);
            if (buffer.IsEmpty) return result;
        }
    }

    [Fact]
    public void BytesNeeded_LargeBulkHeaderRead_IsTheWholeRequestsLength()
    {
        using var parser = new RespRequestParser(RespLimits.Default);
        var head = B("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n");
        var partial = head.Concat(new byte[1000]).ToArray();

        Assert.Equal(RespParseStatus.Incomplete, parser.TryParse(new ReadOnlySequence<byte>(partial), new RespRequest(), out _));

        Assert.Equal(head.Length + 3_000_000 + 2, parser.BytesNeeded);
    }

    [Fact]
    public void TryParse_SplitAtEveryByteBoundary_SameRequests()
    {
        var input = B("*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$5\r\nva\r\nl\r\nPING\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\nECHO \"a b\" c\r\n");
        string[][] expected = [["SET", "k\0y", "va\r\nl"], ["PING"], ["GET", ""], ["ECHO", "a b", "c"]];
        for (var cut1 = 0; cut1 < input.Length; cut1++)
        {
            for (var cut2 = cut1; cut2 < input.Length; cut2 += 5)
            {
                using var parser = new RespRequestParser();
                var got = ParseAll(Segmented(input, cut1, cut2), parser, out var status);
                Assert.Equal(RespParseStatus.Complete, status);
                Assert.Equal(expected, got);
            }
        }
    }

    [Fact]
    public void TryParse_EveryStrictPrefix_IsIncompleteNotMalformed()
    {
        var input = B("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n");
        for (var length = 0; length < input.Length; length++)
        {
            using var parser = new RespRequestParser();
            var status = parser.TryParse(Segmented(input[..length], length / 2), new RespRequest(), out _);
            Assert.Equal(RespParseStatus.Incomplete, status);
        }
    }

    [Fact]
    public void TryParse_OneByteSegments_Parses()
    {
        var input = B("*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n");
        using var parser = new RespRequestParser();
        var got = ParseAll(Segmented(input, Enumerable.Range(1, input.Length).ToArray()), parser, out var status);
        Assert.Equal(RespParseStatus.Complete, status);
        Assert.Equal([["ECHO", "hello world"]], got);
    }

    [Theory]
    [InlineData("*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'")]
    [InlineData("*1\r\n$3\r\nGETX\r\n", "Protocol error: bulk length does not match the data (expected CRLF after the argument)")]
    [InlineData("*x\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n$-3\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$1\rx", "Protocol error: invalid bulk length")]
    [InlineData("*9223372036854775808\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n$99999999999999999999\r\n", "Protocol error: invalid bulk length")]
    [InlineData("SET \"a\r\n", "Protocol error: unbalanced quotes in request")]
    [InlineData("\x16\x03\x01", "Protocol error: unexpected binary data; kv-node speaks plain-text RESP (no TLS)")]
    public void TryParse_Malformed_ReportsError(string input, string error)
    {
        using var parser = new RespRequestParser();
        Assert.Equal(RespParseStatus.Malformed, parser.TryParse(new ReadOnlySequence<byte>(B(input)), new RespRequest(), out _));
        Assert.Equal(error, parser.Error);
    }

    [Fact]
    public void TryParse_Limits_Enforced()
    {
        var limits = new RespLimits { MaxBulkLength = 10, MaxArgumentCount = 3, MaxInlineLength = 20, MaxRequestBytes = 100 };
        using var parser = new RespRequestParser(limits);
        var request = new RespRequest();
        Assert.Equal(RespParseStatus.Malformed, parser.TryParse(new ReadOnlySequence<byte>(B("*1\r\n$11\r\n")), request, out _));
        Assert.Equal(RespParseStatus.Malformed, parser.TryParse(new ReadOnlySequence<byte>(B("*4\r\n")), request, out _));
        Assert.Equal(RespParseStatus.Malformed, parser.TryParse(new ReadOnlySequence<byte>(B(new string('a', 25))), request, out _));
        Assert.Equal("Protocol error: too big inline request", parser.Error);
        using var small = new RespRequestParser(new RespLimits { MaxRequestBytes = 60 });
        Assert.Equal(RespParseStatus.Malformed, small.TryParse(new ReadOnlySequence<byte>(B("*4\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n")), request, out _));
        Assert.Equal("Protocol error: request is larger than the configured maximum (max-request-bytes)", small.Error);
        Assert.Equal(RespParseStatus.Complete, parser.TryParse(new ReadOnlySequence<byte>(B("*1\r\n$10\r\n0123456789\r\n")), request, out _));
        using var unauth = new RespRequestParser(RespLimits.Unauthenticated);
        Assert.Equal(RespParseStatus.Malformed, unauth.TryParse(new ReadOnlySequence<byte>(B("*2\r\n$4\r\nAUTH\r\n$100000\r\n")), request, out _));
        Assert.Equal("Protocol error: unauthenticated bulk length", unauth.Error);
    }

    [Fact]
    public void TryParse_EmptyRequests_CompleteWithNoArguments()
    {
        using var parser = new RespRequestParser();
        var request = new RespRequest();
        foreach (var input in new[] { "*0\r\n", "*-1\r\n", "\r\n", "   \n" })
        {
            var sequence = new ReadOnlySequence<byte>(B(input));
            Assert.Equal(RespParseStatus.Complete, parser.TryParse(sequence, request, out var consumed));
            Assert.Equal(0, request.Count);
            Assert.Equal(input.Length, sequence.Slice(0, consumed).Length);
        }
    }

    [Fact]
    public void TryParse_LargeBulkArrivingSlowly_WaitsWithoutReparsing()
    {
        var value = new string('v', 100_000);
        var input = B($"*2\r\n$4\r\nECHO\r\n${value.Length}\r\n{value}\r\n");
        using var parser = new RespRequestParser();
        var request = new RespRequest();
        var cuts = Enumerable.Range(1, input.Length / 4096).Select(i => i * 4096).ToArray();
        for (var length = 4096; length < input.Length; length += 4096)
            Assert.Equal(RespParseStatus.Incomplete, parser.TryParse(Segmented(input[..length], cuts), request, out _));
        Assert.Equal(RespParseStatus.Complete, parser.TryParse(Segmented(input, cuts), request, out _));
        Assert.True(parser.LastRequestInScratch);
        Assert.Equal(value, Encoding.Latin1.GetString(request[1]));
    }

    [Fact]
    public void TryParse_RandomSplitsOfRandomRequests_MatchModel()
    {
        Gen.Select(
                Gen.Byte.Array[0, 40].Array[1, 6],
                Gen.Int[0, 400].Array[0, 4])
            .Sample((args, cuts) =>
            {
                var text = new List<byte>();
                text.AddRange(B($"*{args.Length}\r\n"));
                foreach (var a in args)
                {
                    text.AddRange(B($"${a.Length}\r\n"));
                    text.AddRange(a);
                    text.AddRange(B("\r\n"));
                }
                using var parser = new RespRequestParser();
                var request = new RespRequest();
                var status = parser.TryParse(Segmented(text.ToArray(), cuts), request, out _);
                if (status != RespParseStatus.Complete || request.Count != args.Length) return false;
                for (var i = 0; i < args.Length; i++)
                {
                    if (!request[i].SequenceEqual(args[i])) return false;
                }
                return true;
            });
    }

    [Fact]
    public void ReplyWriter_Resp2AndResp3_Encodings()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespReplyWriter(buffer);
        writer.WriteNull();
        writer.WriteMapHeader(1);
        writer.WriteBoolean(true);
        writer.WriteInteger(-42);
        writer.WriteBulk("hé"u8);
        writer.WriteError("ERR a\r\nb");
        Assert.Equal("$-1\r\n*2\r\n:1\r\n:-42\r\n$3\r\nhé\r\n-ERR a  b\r\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
        buffer.Clear();
        writer.ProtocolVersion = 3;
        writer.WriteNull();
        writer.WriteMapHeader(1);
        writer.WriteBoolean(false);
        writer.WriteDouble(1.5);
        Assert.Equal("_\r\n%1\r\n#f\r\n,1.5\r\n", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
