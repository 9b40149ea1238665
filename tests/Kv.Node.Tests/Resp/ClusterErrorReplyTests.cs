using System.Buffers;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Storage;
using Kv.Node.Tests.Support;

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
        var reply = await client.ReceiveUntilQuietAsync();
        Assert.StartsWith("-UNAVAILABLE QUORUM read needs 2 of 3 replicas but only 1 are up", reply);
        Assert.EndsWith("+PONG\r\n", reply); // the connection keeps serving
    }

    /// <summary>Delegates everything to an in-memory keyspace except reads, which fail as a coordinator would with two replicas down.</summary>
    private sealed class FailingReadsKeyspace(IKeyspace inner) : IKeyspace
    {
        public ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default) =>
            throw new UnavailableException(ConsistencyLevel.Quorum, "read", alive: 1, required: 2, replicas: 3);

        public ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default) => inner.SetAsync(key, value, expiresAtUnixMs, cancellationToken);
        public ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default) => inner.SetAsync(key, value, options, previousValue, cancellationToken);
        public ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => inner.SetManyAsync(pairs, cancellationToken);
        public ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
        public ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default) => inner.GetAndDeleteAsync(key, value, cancellationToken);
        public ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default) => inner.GetAndUpdateExpiryAsync(key, value, update, cancellationToken);
        public ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default) => inner.UpdateExpiryAsync(key, update, cancellationToken);
        public ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default) => inner.ScanAsync(cursor, count, keys, cancellationToken);
        public long EstimateKeyCount() => inner.EstimateKeyCount();
        public ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default) => inner.DeleteAllAsync(cancellationToken);
        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
        public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => inner.DescribeEngine();
    }
}
