using Kv.Node.Storage;
using Kv.Node.Tests.Support;
using static Kv.Node.Tests.Support.RespCommands;

namespace Kv.Node.Tests.Resp;

/// <summary>A single node's "+OK" for a write is queued at once and sent only once the write is durable; a write that
/// fails after that must never be acknowledged.</summary>
public sealed class DurableWriteFailureTests
{
    [Fact]
    public async Task Set_PipelinedWriteFailsAfterItsOkWasQueued_ClosesWithoutSendingIt()
    {
        // A single node writes "+OK" before the write is durable and sends it only once it is: a write that then
        // fails (a WAL sync error) must close the connection with that reply unsent, and the node serves on.
        var failing = new FailingDurableWritesKeyspace(new InMemoryKeyspace(TimeProvider.System));
        await using var server = await TestServer.StartAsync(failing);
        using (var client = await server.RawAsync())
        {
            await client.SendAsync(Cmd("SET", "a", "1") + Cmd("SET", "fail:b", "2") + Cmd("SET", "c", "3") + Cmd("PING"));
            var (text, closed) = await client.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(10));
            Assert.True(closed);
            Assert.DoesNotContain("PONG", text);
            Assert.True(text.Split("+OK").Length - 1 <= 1, $"more than the first write was acknowledged: {text}");
        }
        Assert.Equal(1, failing.Failed);
        using var other = await server.RawAsync();
        await other.SendAsync(Cmd("PING"));
        Assert.Equal("+PONG\r\n", await other.ReceiveRepliesAsync(1));
    }

    /// <summary>Single-node semantics (a write's "+OK" is queued at once and sent when the write is durable); writes
    /// of keys starting "fail:" fail after a yield, as a failed WAL sync would.</summary>
    private sealed class FailingDurableWritesKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        public int Failed;

        public override bool WriteFailuresAreReplies => false;

        public override async ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            if (key.Span.StartsWith("fail:"u8))
            {
                Interlocked.Increment(ref Failed);
                throw new IOException("fdatasync failed (injected)");
            }
            await Inner.SetAsync(key, value, expiresAtUnixMs, cancellationToken);
        }
    }
}
