using System.Buffers;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Storage;
using Kv.Node.Tests.Support;
using static Kv.Node.Tests.Support.RespCommands;

namespace Kv.Node.Tests.Resp;

/// <summary>A coordinator failure reaches the client as Redis-style UNAVAILABLE / TIMEOUT errors, not as a generic ERR.</summary>
public sealed class ClusterErrorReplyTests
{
    [Fact]
    public async Task Get_KeyspaceUnavailable_RepliesUnavailableWithCounts()
    {
        var failing = new FailingReadsKeyspace(new InMemoryKeyspace(TimeProvider.System));
        await using var server = await TestServer.StartAsync(failing);
        using var client = await server.RawAsync();
        await client.SendAsync("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n");
        var reply = await client.ReceiveRepliesAsync(2);
        Assert.StartsWith("-UNAVAILABLE QUORUM read needs 2 of 3 replicas but only 1 are up", reply);
        Assert.EndsWith("+PONG\r\n", reply); // the connection keeps serving
    }

    [Fact]
    public async Task Set_PipelinedWritesSomeShortOfReplicas_EachGetsItsOwnReplyInOrderAndTheConnectionStays()
    {
        var failing = new FailingWritesKeyspace(new InMemoryKeyspace(TimeProvider.System));
        await using var server = await TestServer.StartAsync(failing);
        using var client = await server.RawAsync();
        // Plain SETs run side by side; the second fails as a coordinator with two replicas silent would. An unknown
        // command and a GET behind them must not overtake their replies.
        await client.SendAsync(Cmd("SET", "a", "1") + Cmd("SET", "fail:b", "2") + Cmd("SET", "c", "3") + Cmd("NOPE") +
                               Cmd("SET", "fail:d", "4") + Cmd("GET", "a") + Cmd("SET", "e", "5") + Cmd("PING"));
        var reply = await client.ReceiveRepliesAsync(8);
        var timeout = "-TIMEOUT QUORUM write: 1 of 2 required replicas acknowledged (3 replicas)\r\n";
        Assert.Equal("+OK\r\n" + timeout + "+OK\r\n-ERR unknown command 'NOPE', with args beginning with: \r\n" +
                     timeout + "$1\r\n1\r\n+OK\r\n+PONG\r\n", reply);
        Assert.Equal(2, failing.Failed);
    }

    /// <summary>Blind writes of keys starting "fail:" time out, after a yield, as a coordinator's would; other writes succeed after a yield.</summary>
    private sealed class FailingWritesKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        public int Failed;

        public override bool WriteFailuresAreReplies => true;

        public override async ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            if (key.Span.StartsWith("fail:"u8))
            {
                Interlocked.Increment(ref Failed);
                throw new ReplicaTimeoutException(ConsistencyLevel.Quorum, "write", acknowledged: 1, required: 2, replicas: 3, detail: null);
            }
            await Inner.SetAsync(key, value, expiresAtUnixMs, cancellationToken);
        }
    }

    /// <summary>Delegates everything to an in-memory keyspace except reads, which fail as a coordinator would with two replicas down.</summary>
    private sealed class FailingReadsKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        public override ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default) =>
            throw new UnavailableException(ConsistencyLevel.Quorum, "read", alive: 1, required: 2, replicas: 3);
    }
}
