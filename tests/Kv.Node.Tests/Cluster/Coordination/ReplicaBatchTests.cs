using System.Collections.Concurrent;
using System.Text;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Net;
using Kv.Node.Cluster.Replica;
using Kv.Node.Resp.Net;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Tests.Cluster.Coordination;

/// <summary>
/// The coordinator's replica batches (<see cref="ReplicaBatches{TItem}"/>): writes (reads) started during one I/O event go
/// to each replica as one MutationBatch (ReadBatch) when the event ends. The tests play the I/O thread themselves with
/// <see cref="IoEvent.Begin"/> / <see cref="IoEvent.End"/>, as <see cref="EpollLoop"/> does around each event.
/// </summary>
public sealed class ReplicaBatchTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Counts the internode requests each node sends, by verb.</summary>
    private sealed class CountingTransport(IMessageTransport inner) : IMessageTransport
    {
        public ConcurrentDictionary<InternodeVerb, int> Requests { get; } = new();

        public NodeAddress LocalAddress => inner.LocalAddress;

        public void Register(MessageChannel channel, IMessageHandler handler) => inner.Register(channel, handler);

        public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message)
        {
            if (channel == MessageChannel.Internode && InternodeEnvelope.TryReadHeader(message, out var header) && !header.IsResponse)
                Requests.AddOrUpdate(header.Verb, 1, static (_, n) => n + 1);
            return inner.Send(destination, channel, message);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private static Task<TestCluster> StartCountingClusterAsync(List<CountingTransport> transports, CoordinatorOptions? options = null) =>
        TestCluster.StartAsync(transports: (_, port) =>
        {
            var t = new CountingTransport(TcpTransport.Start(new TcpTransportOptions { ListenHost = "127.0.0.1", ListenPort = port }));
            lock (transports) transports.Add(t);
            return t;
        }, options: options);

    private static int Sent(CountingTransport t, InternodeVerb verb) => t.Requests.TryGetValue(verb, out var n) ? n : 0;

    [Fact]
    public async Task WritesOfOneEvent_FirstGoesAtOnce_TheRestToEachReplicaAsOneBatch_WhenTheEventEnds()
    {
        var transports = new List<CountingTransport>();
        await using var cluster = await StartCountingClusterAsync(transports);
        var coordinator = cluster.Nodes[0];

        var writes = new List<Task>();
        IoEvent.Begin();
        try
        {
            for (var i = 0; i < 12; i++) writes.Add(coordinator.Coordinator.WriteBlindAsync(B("k" + i), MutationKind.Value, B("v" + i), 0, ConsistencyLevel.All).AsTask());
            // Only the first write went out at once; the rest wait for the end of the event, so no remote replica has
            // more than one of them and none of those later writes can have completed (ALL needs every replica).
            Assert.InRange(cluster.Nodes[1].Store.MutationsApplied, 0, 1);
            Assert.InRange(cluster.Nodes[2].Store.MutationsApplied, 0, 1);
            Assert.All(writes.Skip(1), w => Assert.False(w.IsCompleted));
        }
        finally
        {
            IoEvent.End(NullLogger.Instance);
        }
        await Task.WhenAll(writes); // ALL: every replica acknowledged every write

        var sender = transports.Single(t => t.LocalAddress == coordinator.Address);
        Assert.Equal(2, Sent(sender, InternodeVerb.Mutation)); // the first, to each remote replica
        Assert.Equal(2, Sent(sender, InternodeVerb.MutationBatch)); // the other 11, one batch per remote replica
        for (var i = 0; i < 12; i++)
        {
            foreach (var node in cluster.Nodes) Assert.Equal("v" + i, Encoding.UTF8.GetString(node.Local("k" + i).Value.Span));
        }
    }

    [Fact]
    public async Task WriteThatWouldOverfillItsReplicasBatch_GoesAlone()
    {
        var transports = new List<CountingTransport>();
        // Timeouts well above TestCluster's 1 s: in a fresh process, beside the other test classes, moving 2.8 MB of
        // values through unwarmed serialisation and checksum code took 0.35-1.2 s, and a write that times out is
        // hinted instead of acknowledged (ALL then fails). This test is about how writes are grouped, not how fast.
        var options = new CoordinatorOptions { WriteTimeout = TimeSpan.FromSeconds(15), ReadTimeout = TimeSpan.FromSeconds(15) };
        await using var cluster = await StartCountingClusterAsync(transports, options);
        var coordinator = cluster.Nodes[0];
        var big = new byte[ReplicaBatches<Coordinator.ReplicaWrite>.MaxHeldBytes * 2 / 3];

        var writes = new List<Task>();
        IoEvent.Begin();
        try
        {
            // small: sent at once (first); big: held; big again: no room left, sent at once; small: held with the first big
            writes.Add(coordinator.Coordinator.WriteBlindAsync(B("a"), MutationKind.Value, B("1"), 0, ConsistencyLevel.All).AsTask());
            writes.Add(coordinator.Coordinator.WriteBlindAsync(B("b"), MutationKind.Value, big, 0, ConsistencyLevel.All).AsTask());
            writes.Add(coordinator.Coordinator.WriteBlindAsync(B("c"), MutationKind.Value, big, 0, ConsistencyLevel.All).AsTask());
            writes.Add(coordinator.Coordinator.WriteBlindAsync(B("d"), MutationKind.Value, B("4"), 0, ConsistencyLevel.All).AsTask());
        }
        finally
        {
            IoEvent.End(NullLogger.Instance);
        }
        await Task.WhenAll(writes);

        var sender = transports.Single(t => t.LocalAddress == coordinator.Address);
        Assert.Equal(4, Sent(sender, InternodeVerb.Mutation)); // "a" and "c", to each remote replica
        Assert.Equal(2, Sent(sender, InternodeVerb.MutationBatch)); // "b" with "d", to each
        foreach (var node in cluster.Nodes) Assert.Equal(big.Length, node.Local("c").Value.Length);
    }

    [Fact]
    public async Task WritesOutsideAnEvent_OrWithBatchingOff_GoOneByOne()
    {
        var transports = new List<CountingTransport>();
        var options = new CoordinatorOptions { WriteTimeout = TimeSpan.FromSeconds(1), ReadTimeout = TimeSpan.FromSeconds(1), BatchReplicaRequests = false };
        await using var cluster = await StartCountingClusterAsync(transports, options);
        var coordinator = cluster.Nodes[0];

        var writes = new List<Task>();
        IoEvent.Begin();
        try
        {
            for (var i = 0; i < 5; i++) writes.Add(coordinator.Coordinator.WriteBlindAsync(B("k" + i), MutationKind.Value, B("v"), 0, ConsistencyLevel.All).AsTask());
        }
        finally
        {
            IoEvent.End(NullLogger.Instance);
        }
        for (var i = 5; i < 8; i++) writes.Add(coordinator.Coordinator.WriteBlindAsync(B("k" + i), MutationKind.Value, B("v"), 0, ConsistencyLevel.All).AsTask());
        await Task.WhenAll(writes);

        var sender = transports.Single(t => t.LocalAddress == coordinator.Address);
        Assert.Equal(16, Sent(sender, InternodeVerb.Mutation)); // 8 writes x 2 remote replicas
        Assert.Equal(0, Sent(sender, InternodeVerb.MutationBatch));
    }

    [Fact]
    public async Task BatchToAnUndetectedDeadReplica_TimesOut_AndEveryWriteInItIsHinted()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.Nodes[2].StopAsync(); // down, but no failure detector has said so: the coordinator sends to it
        var coordinator = cluster.Nodes[0];

        var writes = new List<Task>();
        IoEvent.Begin();
        try
        {
            for (var i = 0; i < 6; i++) writes.Add(coordinator.Coordinator.WriteBlindAsync(B("k" + i), MutationKind.Value, B("v" + i), 0, ConsistencyLevel.Quorum).AsTask());
        }
        finally
        {
            IoEvent.End(NullLogger.Instance);
        }
        await Task.WhenAll(writes); // QUORUM: this node and node 1

        // The batch to node 2 fails as a whole (refused or timed out): each of its writes becomes a hint for node 2.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (coordinator.Coordinator.PendingReplicaWrites > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, coordinator.Coordinator.PendingReplicaWrites);
        var hints = coordinator.Handoff!.Store.ReadAll(cluster.Nodes[2].Address);
        Assert.Equal(6, hints.Count);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => "k" + i).Order(),
            hints.Select(h => Encoding.UTF8.GetString(h.Mutation.StorageKey.Span[Kv.Gossip.Ring.Partitioner.TokenPrefixLength..])).Order());
    }

    private static async Task<List<Task<string?>>> ReadInOneEventAsync(TestNode node, int count)
    {
        var reads = new List<Task<string?>>();
        IoEvent.Begin();
        try
        {
            for (var i = 0; i < count; i++)
            {
                reads.Add(Read(node, "k" + i));
            }
            // Each read waits for a remote digest. Only the event's first read to each remote replica is sent yet (and
            // may already be answered); the rest are held until the event ends.
            var answered = reads.Count(r => r.IsCompleted);
            Assert.True(answered <= 2, $"{answered} reads answered before the event ended; at most one per remote replica can be");
        }
        finally
        {
            IoEvent.End(NullLogger.Instance);
        }
        await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(30)); // a read the batch never answers fails here, not hangs
        return reads;

        static async Task<string?> Read(TestNode node, string key)
        {
            var cell = await node.Coordinator.ReadAsync(B(key), ConsistencyLevel.Quorum);
            return cell.Outcome == ReadOutcome.Found ? Encoding.UTF8.GetString(cell.Value.Span) : null;
        }
    }

    private static async Task WriteAllAsync(TestCluster cluster, int count)
    {
        for (var i = 0; i < count; i++) await cluster.Nodes[0].Coordinator.WriteBlindAsync(B("k" + i), MutationKind.Value, B("v" + i), 0, ConsistencyLevel.All);
    }

    [Fact]
    public async Task ReadsOfOneEvent_GoToEachReplicaAsOneBatch_AndEachGetsItsOwnAnswer()
    {
        var transports = new List<CountingTransport>();
        await using var cluster = await StartCountingClusterAsync(transports);
        await WriteAllAsync(cluster, 20);
        var coordinator = cluster.Nodes[0];
        var sender = transports.Single(t => t.LocalAddress == coordinator.Address);
        var readsBefore = Sent(sender, InternodeVerb.Read);

        var reads = await ReadInOneEventAsync(coordinator, 20);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => "v" + i), reads.Select(r => r.Result));
        // A QUORUM read asks one remote replica for a digest: 20 digests to two replicas. Each replica gets its first
        // read at once and the rest in one batch (a batch of one goes as an ordinary Read): at most 4 requests, not 20.
        var batches = Sent(sender, InternodeVerb.ReadBatch);
        var singles = Sent(sender, InternodeVerb.Read) - readsBefore;
        Assert.InRange(batches, 1, 2);
        Assert.InRange(batches + singles, 2, 4);
    }

    [Fact]
    public async Task ReadBatch_ToAnUndetectedDeadReplica_OrAnsweredWrongly_FailsItsReads_WhichTheSecondRoundStillAnswers()
    {
        await using var cluster = await TestCluster.StartAsync();
        await WriteAllAsync(cluster, 8);
        // Node 1 answers read batches with no results (a malformed answer); node 2 is down without anyone knowing.
        cluster.Nodes[1].Messaging!.ServeReadBatches((_, _, _) => ValueTask.FromResult(new ReadBatchResponse([])));
        await cluster.Nodes[2].StopAsync();

        var reads = await ReadInOneEventAsync(cluster.Nodes[0], 8);

        Assert.Equal(Enumerable.Range(0, 8).Select(i => "v" + i), reads.Select(r => r.Result));
    }

    [Fact]
    public async Task ReplicaService_ReadBatch_AnswersEachReadInOrder()
    {
        var store = new InMemoryReplicaStore();
        var service = new ReplicaService(store);
        await store.ApplyAsync(new MutationRequest(Coordinator.StorageKeyOf(B("a")), B("1"), 5, 0, MutationKind.Value));
        var response = await service.ReadBatchAsync(new ReadBatchRequest(
            [new ReadRequest(Coordinator.StorageKeyOf(B("missing")), false), new ReadRequest(Coordinator.StorageKeyOf(B("a")), false), new ReadRequest(Coordinator.StorageKeyOf(B("a")), true)]), CancellationToken.None);
        Assert.Equal([ReadOutcome.Absent, ReadOutcome.Found, ReadOutcome.Found], response.Results.Select(r => r.Outcome));
        Assert.Equal(B("1"), response.Results[1].Value.ToArray());
        Assert.True(response.Results[2].Value.IsEmpty); // digest only
        Assert.NotEqual(0UL, response.Results[2].Digest);
    }

    [Fact]
    public async Task ReplicaService_BatchWithAMalformedMutation_IsRefusedWhole()
    {
        var store = new InMemoryReplicaStore();
        var service = new ReplicaService(store);
        var good = new MutationRequest(Coordinator.StorageKeyOf(B("a")), B("1"), 5, 0, MutationKind.Value);
        var bad = new MutationRequest(new byte[3], B("2"), 5, 0, MutationKind.Value);
        var refused = await service.ApplyBatchAsync(new MutationBatchRequest([good, bad]), CancellationToken.None);
        Assert.False(refused.Ok);
        Assert.Contains("mutation 1 of the batch", refused.Error);
        Assert.Equal(0, store.MutationsApplied);

        var applied = await service.ApplyBatchAsync(new MutationBatchRequest([good, good with { StorageKey = Coordinator.StorageKeyOf(B("b")) }]), CancellationToken.None);
        Assert.True(applied.Ok);
        Assert.Equal(2, store.MutationsApplied);
    }
}
