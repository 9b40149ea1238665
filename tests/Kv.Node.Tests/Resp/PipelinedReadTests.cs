using System.Buffers;
using System.Collections.Concurrent;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Storage;
using Kv.Node.Tests.Support;
using static Kv.Node.Tests.Support.RespCommands;

namespace Kv.Node.Tests.Resp;

/// <summary>
/// Pipelined GETs whose lookups wait (a cluster read waiting for replicas) run side by side, and still reply in
/// request order with Redis's per-connection read-your-writes: a GET never misses a SET pipelined before it, nor
/// sees one pipelined after it.
/// </summary>
public sealed class PipelinedReadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Get_PipelinedReadsWaitingForReplicas_AllStartBeforeAnyAnswersAndReplyInRequestOrder()
    {
        var inner = new InMemoryKeyspace(TimeProvider.System);
        for (var i = 0; i < 8; i++) await inner.SetAsync(Key(i), Val(i), 0);
        var gated = new GatedReadsKeyspace(inner);
        await using var server = await TestServer.StartAsync(gated);
        using var client = await server.RawAsync();

        await client.SendAsync(string.Concat(Enumerable.Range(0, 8).Select(i => Cmd("GET", $"k{i}"))) + Cmd("GET", "absent"));
        // Each read waits for the test to open its gate: had the connection awaited each GET before parsing the next,
        // only the first would ever start.
        var gates = await gated.WaitForStartedAsync(9, Patience);
        for (var i = gates.Length - 1; i >= 0; i--) gates[i].SetResult(); // answer newest first

        var expected = string.Concat(Enumerable.Range(0, 8).Select(i => $"$2\r\nv{i}\r\n")) + "$-1\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length, Patience));
    }

    [Fact]
    public async Task Get_PipelinedAroundSlowSets_SeesEveryEarlierSetAndNoLaterOne()
    {
        var keyspace = new SlowWritesKeyspace(new InMemoryKeyspace(TimeProvider.System));
        await using var server = await TestServer.StartAsync(keyspace);
        using var client = await server.RawAsync();

        await client.SendAsync(Cmd("SET", "k", "1") + Cmd("GET", "k") + Cmd("SET", "k", "2") + Cmd("SET", "j", "9") +
                               Cmd("GET", "k") + Cmd("GET", "j") + Cmd("SET", "k", "3") + Cmd("GET", "k"));
        var expected = "+OK\r\n$1\r\n1\r\n+OK\r\n+OK\r\n$1\r\n2\r\n$1\r\n9\r\n+OK\r\n$1\r\n3\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length, Patience));
    }

    [Fact]
    public async Task Get_PipelinedReadsSomeFailing_EachGetsItsOwnReplyAndTheConnectionStays()
    {
        var inner = new InMemoryKeyspace(TimeProvider.System);
        await inner.SetAsync("a"u8.ToArray(), "1"u8.ToArray(), 0);
        var keyspace = new FailingReadsKeyspace(inner);
        await using var server = await TestServer.StartAsync(keyspace);
        using var client = await server.RawAsync();

        await client.SendAsync(Cmd("GET", "a") + Cmd("GET", "timeout:b") + Cmd("GET", "a") + Cmd("GET", "broken:c") +
                               Cmd("GET", "absent") + Cmd("PING"));
        var expected = "$1\r\n1\r\n-TIMEOUT QUORUM read: 1 of 2 required replicas acknowledged (3 replicas)\r\n$1\r\n1\r\n" +
                       "-ERR 'get' failed on the server: disk on fire\r\n$-1\r\n+PONG\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length, Patience));
    }

    [Fact]
    public async Task MGet_KeysWaitingForReplicas_ReadSideBySideAndReplyInKeyOrder()
    {
        var inner = new InMemoryKeyspace(TimeProvider.System);
        for (var i = 0; i < 40; i += 2) await inner.SetAsync(Key(i), Val(i), 0); // odd keys are absent
        var gated = new GatedReadsKeyspace(inner);
        await using var server = await TestServer.StartAsync(gated);
        using var client = await server.RawAsync();

        await client.SendAsync(Cmd(["MGET", .. Enumerable.Range(0, 40).Select(i => $"k{i}")]) + Cmd("PING"));
        // The first key's read waits; then a window of the next keys starts beside it.
        await gated.WaitForStartedAsync(1 + StringCommandsWindow, Patience);
        gated.OpenFromNowOn();

        var expected = "*40\r\n" + string.Concat(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? $"${Val(i).Length}\r\nv{i}\r\n" : "$-1\r\n")) + "+PONG\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length, Patience));
    }

    [Fact]
    public async Task MGet_OneKeysReadTimesOut_RepliesOneErrorNotAHalfArrayAndTheConnectionStays()
    {
        var inner = new InMemoryKeyspace(TimeProvider.System);
        await inner.SetAsync("a"u8.ToArray(), "1"u8.ToArray(), 0);
        await using var server = await TestServer.StartAsync(new FailingReadsKeyspace(inner));
        using var client = await server.RawAsync();

        await client.SendAsync(Cmd("MGET", "a", "b", "timeout:c", "a", "d") + Cmd("MGET", "a", "b") + Cmd("PING"));
        var expected = "-TIMEOUT QUORUM read: 1 of 2 required replicas acknowledged (3 replicas)\r\n*2\r\n$1\r\n1\r\n$-1\r\n+PONG\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length, Patience));
    }

    [Fact]
    public async Task MGet_AKeysLookupThrowsWhileAnotherWaits_RepliesTheErrorAndLeavesTheNextRequestIntact()
    {
        var inner = new InMemoryKeyspace(TimeProvider.System);
        await inner.SetAsync("a"u8.ToArray(), "1"u8.ToArray(), 0);
        await using var server = await TestServer.StartAsync(new FailingReadsKeyspace(inner));
        using var client = await server.RawAsync();

        // "a" waits (a yield), then "throw:b" fails before returning a task: the MGET must wait for "a" before the
        // connection reuses the buffer "a" reads into.
        await client.SendAsync(Cmd("MGET", "a", "throw:b") + Cmd("GET", "a") + Cmd("MGET", "a", "absent"));
        var expected = "-ERR 'mget' failed on the server: thrown at once\r\n$1\r\n1\r\n*2\r\n$1\r\n1\r\n$-1\r\n";
        Assert.Equal(expected, await client.ReceiveAsync(expected.Length, Patience));
    }

    private static int StringCommandsWindow => Kv.Node.Resp.StringCommands.MGetWindow;

    private static byte[] Key(int i) => System.Text.Encoding.ASCII.GetBytes($"k{i}");

    private static byte[] Val(int i) => System.Text.Encoding.ASCII.GetBytes($"v{i}");

    /// <summary>Every read waits on a gate the test opens, then reads the inner keyspace into the caller's buffer.</summary>
    private sealed class GatedReadsKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        private readonly ConcurrentQueue<TaskCompletionSource> _gates = new();
        private volatile bool _open;

        public override bool WriteFailuresAreReplies => true;

        public override ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default)
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var copy = key.ToArray(); // the request's memory is only valid until GetAsync returns
            _gates.Enqueue(gate);
            if (_open) gate.TrySetResult();
            return ReadAfterAsync(gate.Task, copy, value, cancellationToken);
        }

        /// <summary>Answers every waiting read, newest first, and lets later reads through after a yield.</summary>
        public void OpenFromNowOn()
        {
            _open = true;
            foreach (var gate in _gates.Reverse()) gate.TrySetResult();
        }

        private async ValueTask<KeyLookup> ReadAfterAsync(Task gate, byte[] key, IBufferWriter<byte>? value, CancellationToken cancellationToken)
        {
            await gate;
            return await Inner.GetAsync(key, value, cancellationToken);
        }

        public async Task<TaskCompletionSource[]> WaitForStartedAsync(int count, TimeSpan patience)
        {
            var deadline = DateTime.UtcNow + patience;
            while (_gates.Count < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {_gates.Count} of {count} pipelined reads started; they ran one at a time");
                await Task.Delay(10);
            }
            return [.. _gates];
        }
    }

    /// <summary>Writes land after a delay that shrinks with each write (so later writes overtake earlier ones if
    /// allowed to run beside them); reads yield first, as a coordinator's would.</summary>
    private sealed class SlowWritesKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        private int _writes;

        public override bool WriteFailuresAreReplies => true;

        public override ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default)
        {
            var delay = Math.Max(1, 200 - (50 * Interlocked.Increment(ref _writes)));
            return WriteLaterAsync(key.ToArray(), value.ToArray(), expiresAtUnixMs, delay, cancellationToken);
        }

        private async ValueTask WriteLaterAsync(byte[] key, byte[] value, long expiresAtUnixMs, int delayMs, CancellationToken cancellationToken)
        {
            await Task.Delay(delayMs, cancellationToken);
            await Inner.SetAsync(key, value, expiresAtUnixMs, cancellationToken);
        }

        public override ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default) =>
            ReadLaterAsync(key.ToArray(), value, cancellationToken);

        private async ValueTask<KeyLookup> ReadLaterAsync(byte[] key, IBufferWriter<byte>? value, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return await Inner.GetAsync(key, value, cancellationToken);
        }
    }

    /// <summary>Reads of "timeout:" keys fail as a coordinator's would, reads of "broken:" keys fail as a broken store
    /// would, both after a yield; reads of "throw:" keys throw before returning a task; other reads succeed after a yield.</summary>
    private sealed class FailingReadsKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        public override bool WriteFailuresAreReplies => true;

        public override ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default)
        {
            if (key.Span.StartsWith("throw:"u8)) throw new InvalidOperationException("thrown at once");
            return ReadLaterAsync(key.ToArray(), value, cancellationToken);
        }

        private async ValueTask<KeyLookup> ReadLaterAsync(byte[] key, IBufferWriter<byte>? value, CancellationToken cancellationToken)
        {
            await Task.Yield();
            if (key.AsSpan().StartsWith("timeout:"u8))
                throw new ReplicaTimeoutException(ConsistencyLevel.Quorum, "read", acknowledged: 1, required: 2, replicas: 3, detail: null);
            if (key.AsSpan().StartsWith("broken:"u8)) throw new IOException("disk on fire");
            return await Inner.GetAsync(key, value, cancellationToken);
        }
    }
}
