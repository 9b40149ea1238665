using System.Text;
using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Resp;

/// <summary>
/// Hostile and broken input over raw sockets. Each case: the right error reply (or none) and whether
/// the connection is closed; afterwards another connection still gets PONG, so one bad client never
/// affects the others.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(configure: o =>
    {
        o.MaxBulkLength = 1024 * 1024;
        o.MaxInlineLength = 64 * 1024;
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, byte[], string, bool> Cases()
    {
        var data = new TheoryData<string, byte[], string, bool>();
        void Add(string name, string input, string reply, bool closes) => data.Add(name, Encoding.Latin1.GetBytes(input), reply, closes);
        Add("negative multibulk count is an empty request", "*-5\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n", false);
        Add("zero multibulk count is an empty request", "*0\r\nPING\r\n", "+PONG\r\n", false);
        Add("oversized multibulk count", "*99999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true);
        Add("64-bit overflow in count", "*99999999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true);
        Add("count header that never ends", "*" + new string('1', 40), "-ERR Protocol error: too big mbulk count string\r\n", true);
        Add("negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n", true);
        Add("oversized bulk length", "*1\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n", true);
        Add("64-bit overflow in bulk length", "*1\r\n$18446744073709551617\r\n", "-ERR Protocol error: invalid bulk length\r\n", true);
        Add("non-numeric bulk length", "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n", true);
        Add("integer frame instead of bulk", "*1\r\n:5\r\n", "-ERR Protocol error: expected '$', got ':'\r\n", true);
        Add("array frame instead of bulk", "*1\r\n*1\r\n", "-ERR Protocol error: expected '$', got '*'\r\n", true);
        Add("bulk longer than its length", "*1\r\n$3\r\nabcd\r\n", "-ERR Protocol error: bulk length does not match the data (expected CRLF after the argument)\r\n", true);
        Add("lone CR in count", "*1\rX\n", "-ERR Protocol error: invalid multibulk length\r\n", true);
        Add("lone CR in bulk header", "*1\r\n$4\rPING\r\n", "-ERR Protocol error: invalid bulk length\r\n", true);
        Add("NUL bytes in key and value", "*3\r\n$3\r\nSET\r\n$3\r\nk\0k\r\n$3\r\n\0\0\0\r\n*2\r\n$3\r\nGET\r\n$3\r\nk\0k\r\n", "+OK\r\n$3\r\n\0\0\0\r\n", false);
        Add("HTTP request", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "-ERR wrong number of arguments for 'get' command\r\n", true);
        Add("HTTP POST", "POST /x HTTP/1.1\r\n", "", true);
        Add("TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + new string('\x42', 32) + "\n", "-ERR Protocol error: unexpected binary data; kv-node speaks plain-text RESP (no TLS)\r\n", true);
        Add("inline line too long", new string('a', 70_000), "-ERR Protocol error: too big inline request\r\n", true);
        Add("unbalanced quotes inline", "SET k \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadInput_Case_RepliesAndClosesAsExpected(string name, byte[] input, string reply, bool closes)
    {
        using var client = await _server.RawAsync();
        await client.SendAsync(input);
        if (closes)
        {
            var (text, closed) = await client.ReceiveUntilClosedAsync();
            Assert.True(closed, name + ": connection should be closed");
            Assert.Equal(reply, text);
        }
        else
        {
            Assert.Equal(reply, await client.ReceiveAsync(Encoding.Latin1.GetByteCount(reply)));
        }
        await _server.AssertServesPingAsync();
    }

    [Fact]
    public async Task CutMidBulk_ConnectionDropped_ServerUnaffected()
    {
        for (var i = 0; i < 20; i++)
        {
            var client = await _server.RawAsync();
            await client.SendAsync("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n" + new string('x', 40));
            client.Socket.Close(0);
        }
        await _server.AssertServesPingAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_server.Server.ConnectedClients > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        // On failure, which connections are left says where a close was missed.
        Assert.True(_server.Server.ConnectedClients == 0, $"{_server.Server.ConnectedClients} connections still open after 10 s: {_server.Server.DescribeConnections()}");
    }

    [Fact]
    public async Task BulkArrivingInPieces_StillParsed()
    {
        using var client = await _server.RawAsync();
        var value = new string('v', 200_000);
        var request = Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${value.Length}\r\n{value}\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
        for (var offset = 0; offset < request.Length; offset += 7919)
        {
            await client.SendAsync(request[offset..Math.Min(request.Length, offset + 7919)]);
        }
        var expected = $"+OK\r\n${value.Length}\r\n{value}\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length));
    }
}
