using System.Buffers;
using System.Text;
using Kv.Node.Hosting;
using Kv.Node.Resp;
using Kv.Node.Tests.Support;
using Kv.Protocol.Resp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Tests.Resp;

/// <summary>Parse + dispatch of GET and SET allocates nothing once warm (bench/Kv.Benchmarks/RespBenchmarks measures the same path).</summary>
public sealed class AllocationTests
{
    [Fact]
    public Task ParseAndDispatch_GetAndSet_AllocateNothing() =>
        AssertGetAndSetAllocateNothingAsync(new NodeOptions { SlowlogLogSlowerThan = -1 });

    /// <summary>The slow log on, every command timed and none slow enough to be logged (a threshold no command reaches:
    /// with a reachable one, a preempted command would be logged and allocate).</summary>
    [Fact]
    public Task ParseAndDispatch_SlowlogTimingUnderThreshold_AllocatesNothing() =>
        AssertGetAndSetAllocateNothingAsync(new NodeOptions { SlowlogLogSlowerThan = long.MaxValue }, timed: true);

    private static async Task AssertGetAndSetAllocateNothingAsync(NodeOptions options, bool timed = false)
    {
        var time = new ManualTimeProvider();
        var keyspace = new FixedValueKeyspace();
        var server = new RespServer(options, keyspace, time, NullLoggerFactory.Instance);
        Assert.Equal(timed, server.Slowlog.Enabled);
        var output = new ArrayBufferWriter<byte>(1 << 16);
        var request = new RespRequest();
        var context = new CommandContext(server, 1, null, new RespReplyWriter(output)) { Request = request };
        using var parser = new RespRequestParser();
        var input = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(
            "*3\r\n$3\r\nSET\r\n$8\r\nkey:0001\r\n$100\r\n" + new string('x', 100) + "\r\n*2\r\n$3\r\nGET\r\n$8\r\nkey:0001\r\n"));

        void RunOnce()
        {
            var buffer = input;
            output.ResetWrittenCount();
            while (!buffer.IsEmpty && parser.TryParse(buffer, request, out var consumed) == RespParseStatus.Complete)
            {
                var task = server.Dispatcher.ExecuteAsync(context);
                Assert.True(task.IsCompletedSuccessfully);
                buffer = buffer.Slice(consumed);
            }
        }

        for (var i = 0; i < 1000; i++) RunOnce();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++) RunOnce();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // 20,000 commands: any per-command allocation would be >= 480 KB; allow a few one-off bytes
        // (the runtime's tiering can allocate on this thread while methods are being re-jitted).
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 20,000 commands");
        Assert.EndsWith("+OK\r\n$3\r\nabc\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(0, server.Slowlog.Count);
        await server.DisposeAsync();
    }

    private sealed class FixedValueKeyspace : Kv.Node.Storage.IKeyspace
    {
        public ValueTask<Kv.Node.Storage.KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default)
        {
            value?.Write("abc"u8);
            return new(new Kv.Node.Storage.KeyLookup(true, 0));
        }

        public ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default) => default;
        public ValueTask<Kv.Node.Storage.SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, Kv.Node.Storage.SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<Kv.Node.Storage.KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<Kv.Node.Storage.KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, Kv.Node.Storage.ExpiryUpdate update, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, Kv.Node.Storage.ValueUpdate update, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<Kv.Node.Storage.RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, Kv.Node.Storage.ExpiryUpdate update, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public long EstimateKeyCount() => 0;
        public ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;
        public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => [];
    }
}
