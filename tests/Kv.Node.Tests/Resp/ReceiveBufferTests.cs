using System.Buffers;
using System.Text;
using Kv.Node.Resp.Net;
using Kv.Protocol.Resp;

namespace Kv.Node.Tests.Resp;

public class ReceiveBufferTests
{
    [Fact]
    public void ConsumeTo_ParserPositions_LeaveTheNextRequestUnparsed()
    {
        using var buffer = new ReceiveBuffer();
        using var parser = new RespRequestParser(RespLimits.Default);
        var request = new RespRequest();
        Receive(buffer, "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");

        Assert.Equal(RespParseStatus.Complete, parser.TryParse(buffer.Unparsed, request, out var next));
        buffer.ConsumeTo(next);

        Assert.Equal("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", Text(buffer));
        Assert.Equal(RespParseStatus.Complete, parser.TryParse(buffer.Unparsed, request, out next));
        Assert.Equal("hi", Encoding.ASCII.GetString(request[1]));
    }

    [Fact]
    public void GetReceiveSpace_ShortSpaceBehindAPartialRequest_MovesItToTheFront()
    {
        using var buffer = new ReceiveBuffer();
        var first = buffer.GetReceiveSpace().Length;
        Receive(buffer, new string('x', first - 100) + "*1\r\n$4\r\nPI");
        buffer.ConsumeTo(buffer.Unparsed.GetPosition(first - 100));

        var space = buffer.GetReceiveSpace();

        Assert.True(space.Length >= 4096, $"{space.Length} bytes offered");
        Assert.Equal(first - "*1\r\n$4\r\nPI".Length, space.Length); // moved, not grown
        Receive(buffer, "NG\r\n");
        Assert.Equal("*1\r\n$4\r\nPING\r\n", Text(buffer));
        using var parser = new RespRequestParser(RespLimits.Default);
        Assert.Equal(RespParseStatus.Complete, parser.TryParse(buffer.Unparsed, new RespRequest(), out var next));
        buffer.ConsumeTo(next);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void GetReceiveSpace_RequestLargerThanTheBuffer_GrowsAndKeepsTheBytes()
    {
        using var buffer = new ReceiveBuffer();
        var value = new string('v', 100_000);
        var request = $"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${value.Length}\r\n{value}\r\n";
        var sent = 0;
        while (sent < request.Length)
        {
            var space = buffer.GetReceiveSpace();
            Assert.True(space.Length >= 4096, $"{space.Length} bytes offered");
            var n = Math.Min(space.Length, request.Length - sent);
            Encoding.ASCII.GetBytes(request.AsSpan(sent, n), space.Span);
            buffer.Received(n);
            sent += n;
        }

        Assert.Equal(request, Text(buffer));
        using var parser = new RespRequestParser(RespLimits.Default);
        var parsed = new RespRequest();
        Assert.Equal(RespParseStatus.Complete, parser.TryParse(buffer.Unparsed, parsed, out var next));
        Assert.Equal(value.Length, parsed[2].Length);
        buffer.ConsumeTo(next);

        Assert.True(buffer.GetReceiveSpace().Length < 64 * 1024, "an empty buffer that grew goes back to its first size");
    }

    [Fact]
    public void GetReceiveSpace_ExpectedRequestSize_GrowsToItNotToTheNextPowerOfTwo()
    {
        using var buffer = new ReceiveBuffer();
        const int total = 3_000_000; // a 3 MB request: doubling would end at 4 MiB
        var received = 0;
        while (received < total)
        {
            var space = buffer.GetReceiveSpace();
            Assert.True(space.Length >= 4096, $"{space.Length} bytes offered");
            var n = Math.Min(space.Length, total - received);
            space.Span[..n].Fill((byte)'v');
            buffer.Received(n);
            received += n;
            buffer.Expect(total);
        }

        Assert.Equal(total, buffer.Length);
        Assert.True(buffer.Unparsed.IsSingleSegment);
        Assert.InRange(buffer.GetReceiveSpace().Length + buffer.Length, total, total + 4096);
    }

    [Fact]
    public void GetReceiveSpace_AnnouncedSizeWithoutData_GrowsNoFasterThanDoubling()
    {
        using var buffer = new ReceiveBuffer();
        var first = buffer.GetReceiveSpace().Length;
        Receive(buffer, new string('x', first)); // the whole buffer holds one partial request
        buffer.Expect(512L * 1024 * 1024); // that announced a 512 MB bulk

        Assert.InRange(buffer.GetReceiveSpace().Length + buffer.Length, first + 4096, 2 * first);
    }

    private static void Receive(ReceiveBuffer buffer, string text)
    {
        var space = buffer.GetReceiveSpace();
        var n = Encoding.ASCII.GetBytes(text, space.Span);
        buffer.Received(n);
    }

    private static string Text(ReceiveBuffer buffer) => Encoding.ASCII.GetString(buffer.Unparsed.ToArray());
}
