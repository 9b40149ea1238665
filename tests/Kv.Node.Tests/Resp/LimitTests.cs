using System.Text;
using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Resp;

/// <summary>The configurable limits: output buffer, request deadline, idle timeout, max clients, unauthenticated frames.</summary>
public sealed class LimitTests
{
    [Fact]
    public async Task OutputBufferLimit_ClientNeverReads_Disconnected()
    {
        await using var server = await TestServer.StartAsync(configure: o => o.OutputBufferLimit = 256 * 1024);
        using var client = await server.RawAsync();
        var send = SendGetsNeverReadingAsync(client, valueSize: 16 * 1024, gets: 10_000);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (server.Server.Stats.OutputLimitDisconnects == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(1, server.Server.Stats.OutputLimitDisconnects);
        try
        {
            await send;
        }
        catch (System.Net.Sockets.SocketException)
        {
            // the server closed the socket while we were still sending: expected
        }
        await server.AssertServesPingAsync();
    }

    [Fact]
    public async Task RequestTimeout_RequestTrickles_Closed()
    {
        await using var server = await TestServer.StartAsync(configure: o => o.RequestTimeout = TimeSpan.FromMilliseconds(500));
        using var client = await server.RawAsync();
        await client.SendAsync("*1\r\n$4\r\nPI");
        var (text, closed) = await client.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(10));
        Assert.True(closed);
        Assert.StartsWith("-ERR request not completed within request-timeout", text);
        await server.AssertServesPingAsync();
    }

    [Fact]
    public async Task IdleTimeout_SilentClient_Closed()
    {
        await using var server = await TestServer.StartAsync(configure: o => o.IdleTimeout = TimeSpan.FromMilliseconds(500));
        using var client = await server.RawAsync();
        var (text, closed) = await client.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(10));
        Assert.True(closed);
        Assert.Equal("", text); // silently, as Redis does: a reply nobody asked for confuses client libraries
    }

    [Fact]
    public async Task IdleTimeout_ClientWithRepliesUnreadUnderTheLimit_ConnectionReleased()
    {
        // Replies the client never reads, more than the socket buffers hold and less than the output limit: the
        // idle timeout ends the request loop, whose last flush then waits for the client forever unless the next
        // sweep resets the connection.
        await using var server = await TestServer.StartAsync(configure: o => o.IdleTimeout = TimeSpan.FromMilliseconds(500));
        using var client = await server.RawAsync();
        await SendGetsNeverReadingAsync(client, valueSize: 1024 * 1024, gets: 24); // 24 MB of replies, never read

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (server.Server.ConnectedClients > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);

        Assert.True(server.Server.ConnectedClients == 0, server.Server.DescribeConnections());
        Assert.Equal(0, server.Server.Stats.OutputLimitDisconnects);
        await server.AssertServesPingAsync();
    }

    [Fact]
    public async Task MaxClients_OneTooMany_Refused()
    {
        await using var server = await TestServer.StartAsync(configure: o => o.MaxClients = 2);
        using var a = await server.RawAsync();
        using var b = await server.RawAsync();
        await a.SendAsync("PING\r\n");
        await b.SendAsync("PING\r\n");
        Assert.Equal("+PONG\r\n", await a.ReceiveAsync(7));
        Assert.Equal("+PONG\r\n", await b.ReceiveAsync(7));
        using var c = await server.RawAsync();
        var (text, closed) = await c.ReceiveUntilClosedAsync();
        Assert.True(closed);
        Assert.Equal("-ERR max number of clients reached\r\n", text);
    }

    [Fact]
    public async Task Password_Unauthenticated_OnlyAuthAndSmallFrames()
    {
        await using var server = await TestServer.StartAsync(configure: o => o.Password = "s3cret");
        using (var client = await server.RawAsync())
        {
            await client.SendAsync("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
            Assert.Equal("-NOAUTH Authentication required.\r\n", await client.ReceiveAsync(34));
            await client.SendAsync("*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n");
            Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.\r\n", await client.ReceiveAsync(64));
            await client.SendAsync("*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*1\r\n$4\r\nPING\r\n");
            Assert.Equal("+OK\r\n+PONG\r\n", await client.ReceiveAsync(12));
            var big = new string('x', 100_000);
            await client.SendAsync($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${big.Length}\r\n{big}\r\n");
            Assert.Equal("+OK\r\n", await client.ReceiveAsync(5));
        }
        using (var client = await server.RawAsync())
        {
            await client.SendAsync("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n");
            var (text, closed) = await client.ReceiveUntilClosedAsync();
            Assert.True(closed);
            Assert.Equal("-ERR Protocol error: unauthenticated bulk length\r\n", text);
        }
        await using var redis = await server.ConnectAsync(password: "s3cret");
        await redis.GetDatabase().StringSetAsync("a", "b");
        Assert.Equal("b", await redis.GetDatabase().StringGetAsync("a"));
        await using var resp3 = await server.ConnectAsync(protocol: 3, password: "s3cret");
        Assert.Equal("b", await resp3.GetDatabase().StringGetAsync("a"));
    }

    [Fact]
    public async Task AdminCommands_None_FlushAllAndClientKillRefused()
    {
        await using var server = await TestServer.StartAsync(configure: o => o.AdminCommands = Kv.Node.Resp.AdminCommandsMode.None);
        using var client = await server.RawAsync();
        await client.SendAsync("*1\r\n$8\r\nFLUSHALL\r\n");
        Assert.StartsWith("-NOPERM 'flushall' is an admin command", await client.ReceiveRepliesAsync(1));
        await client.SendAsync("*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n$1\r\n1\r\n");
        Assert.StartsWith("-NOPERM 'client|kill' is an admin command", await client.ReceiveRepliesAsync(1));
    }

    /// <summary>Stores a value of <paramref name="valueSize"/> bytes, then sends <paramref name="gets"/> pipelined GETs
    /// of it whose replies the client (with a small receive buffer) never reads.</summary>
    private static async Task SendGetsNeverReadingAsync(RawClient client, int valueSize, int gets)
    {
        client.Socket.ReceiveBufferSize = 4096;
        var value = new string('v', valueSize);
        await client.SendAsync($"*3\r\n$3\r\nSET\r\n$1\r\nv\r\n${value.Length}\r\n{value}\r\n");
        await client.ReceiveAsync(5);
        var get = Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$1\r\nv\r\n");
        var pipeline = new byte[get.Length * gets];
        for (var i = 0; i < gets; i++) get.CopyTo(pipeline, i * get.Length);
        await client.SendAsync(pipeline);
    }
}
