using System.Buffers;
using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Storage;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster.Coordination;

public sealed class ClusterKeyspaceTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static ClusterKeyspace Keyspace(TestNode node) => new(node.Coordinator, node.Store, node.Handoff);

    private static async Task<string?> Get(IKeyspace keyspace, string key)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var lookup = await keyspace.GetAsync(B(key), buffer);
        return lookup.Found ? Encoding.UTF8.GetString(buffer.WrittenSpan) : null;
    }

    [Fact]
    public async Task SetMany_ThroughOneNode_EveryKeyReadableThroughAnother()
    {
        await using var cluster = await TestCluster.StartAsync(nodes: 4);
        var pairs = new KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>[50];
        for (var i = 0; i < pairs.Length; i++) pairs[i] = new(B("m" + i), B("v" + i));
        await Keyspace(cluster.Nodes[0]).SetManyAsync(pairs);
        var other = Keyspace(cluster.Nodes[3]);
        for (var i = 0; i < pairs.Length; i++) Assert.Equal("v" + i, await Get(other, "m" + i));
    }

    [Fact]
    public async Task SetManyIfNoneExist_WritesAllOrNothing_AcrossReplicas()
    {
        await using var cluster = await TestCluster.StartAsync();
        var ks = Keyspace(cluster.Nodes[0]);
        KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>[] Pairs(params string[] keys) => [.. keys.Select(k => new KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>(B(k), B("v-" + k)))];
        Assert.True(await ks.SetManyIfNoneExistAsync(Pairs("x1", "x2", "x3")));
        var other = Keyspace(cluster.Nodes[2]);
        Assert.Equal("v-x2", await Get(other, "x2"));
        Assert.False(await other.SetManyIfNoneExistAsync(Pairs("x4", "x1")));
        Assert.Null(await Get(ks, "x4"));
    }

    [Fact]
    public async Task Scan_WholeCluster_ReturnsEveryLiveKeyOnceInTokenOrder()
    {
        await using var cluster = await TestCluster.StartAsync(nodes: 4);
        var writer = Keyspace(cluster.Nodes[1]);
        var expected = new HashSet<string>();
        for (var i = 0; i < 120; i++)
        {
            await writer.SetAsync(B("s" + i), B("x"), 0);
            expected.Add("s" + i);
        }
        // Hash-tagged keys share a token: a page must never split them.
        for (var i = 0; i < 10; i++)
        {
            await writer.SetAsync(B("{tag}:" + i), B("x"), 0);
            expected.Add("{tag}:" + i);
        }
        await writer.DeleteAsync(B("s7"));
        expected.Remove("s7");

        var seen = new List<string>();
        long cursor = 0;
        var pages = 0;
        do
        {
            var keys = new List<byte[]>();
            cursor = await Keyspace(cluster.Nodes[2]).ScanAsync(cursor, 7, keys);
            seen.AddRange(keys.Select(k => Encoding.UTF8.GetString(k)));
            pages++;
        }
        while (cursor != 0);

        Assert.Equal(expected.Count, seen.Count);
        Assert.True(expected.SetEquals(seen));
        Assert.True(pages > 5);
        var tokens = seen.Select(k => Gossip.Ring.Partitioner.Token(B(k))).ToList();
        Assert.Equal(tokens.Order().ToList(), tokens);
    }

    [Fact]
    public async Task Scan_AtQuorum_MergesReplicasNewestWins_AtOneSeesOnlyItsOwn()
    {
        await using var cluster = await TestCluster.StartAsync();
        async Task Apply(string key, MutationKind kind, long timestamp, params int[] nodes)
        {
            var mutation = new MutationRequest(Coordinator.StorageKeyOf(B(key)), kind == MutationKind.Value ? B("v") : default, timestamp, 0, kind);
            foreach (var n in nodes) await cluster.Nodes[n].Store.ApplyAsync(mutation);
        }
        // What a write acknowledged at QUORUM may look like an instant later: on the two other replicas, not yet here.
        var expected = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            await Apply("remote" + i, MutationKind.Value, 100, 1, 2);
            expected.Add("remote" + i);
            await Apply("local" + i, MutationKind.Value, 100, 0);
            expected.Add("local" + i);
            // One token for all of these: the replicas' pages stop at their limits inside one range, at different keys.
            await Apply("{h}remote" + i, MutationKind.Value, 100, 1, 2);
            await Apply("{h}local" + i, MutationKind.Value, 100, 0);
            expected.Add("{h}remote" + i);
            expected.Add("{h}local" + i);
        }
        await Apply("deleted", MutationKind.Value, 100, 0);
        await Apply("deleted", MutationKind.Tombstone, 200, 1, 2);
        await Apply("revived", MutationKind.Tombstone, 100, 0);
        await Apply("revived", MutationKind.Value, 200, 1, 2);
        expected.Add("revived");

        // At ONE only this node's copy is read: the remote-only keys are missing and the stale value shows.
        var atOne = Keyspace(cluster.Nodes[0]).WithConsistency(ConsistencyLevel.One, ConsistencyLevel.Quorum);
        var one = await ScanAll(atOne, count: 4);
        Assert.DoesNotContain("remote0", one);
        Assert.Contains("deleted", one);
        Assert.DoesNotContain("revived", one);

        var quorum = await ScanAll(Keyspace(cluster.Nodes[0]), count: 4);
        Assert.Equal(expected.Count, quorum.Count);
        Assert.True(expected.SetEquals(quorum));
        var tokens = quorum.Select(k => Gossip.Ring.Partitioner.Token(B(k))).ToList();
        Assert.Equal(tokens.Order().ToList(), tokens);

        // The QUORUM scan repaired this node (blocking, before it answered): now its own copy agrees.
        one = await ScanAll(atOne, count: 4);
        Assert.True(expected.SetEquals(one));
        Assert.Equal(ReadOutcome.Deleted, cluster.Nodes[0].Local("deleted").Outcome);
        Assert.Equal(200, cluster.Nodes[0].Local("revived").Timestamp);
        // And the other replica it asked got this node's keys; what no page lacked was not written again.
        Assert.True(cluster.Nodes[1].Local("local0").IsLive(0) || cluster.Nodes[2].Local("local0").IsLive(0));
        Assert.Equal(100, cluster.Nodes[1].Local("remote0").Timestamp);
    }

    [Fact]
    public async Task Scan_ReadLevelAllWithOneDown_ReportsUnavailable()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StopAsync(cluster.Nodes[2]);
        var ks = Keyspace(cluster.Nodes[0]).WithConsistency(ConsistencyLevel.All, ConsistencyLevel.One);
        var e = await Assert.ThrowsAsync<UnavailableException>(() => ks.ScanAsync(0, 10, []).AsTask());
        Assert.StartsWith("UNAVAILABLE ALL scan needs 3 of 3", e.RespError);
    }

    [Fact]
    public async Task Scan_ReplicaDownButNotYetDetected_AnotherReplicaAnswersInstead()
    {
        await using var cluster = await TestCluster.StartAsync();
        var writer = Keyspace(cluster.Nodes[0]);
        var expected = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            await writer.SetAsync(B("d" + i), B("x"), 0);
            expected.Add("d" + i);
        }
        // Stopped without telling the failure detector: the scan still picks it for the ranges where it comes before
        // node 1, and must turn to node 1 when it does not answer.
        await cluster.Nodes[2].StopAsync();
        var quorum = Keyspace(cluster.Nodes[0]).WithConsistency(ConsistencyLevel.Quorum, ConsistencyLevel.Quorum);
        Assert.Equal(expected.Order(), (await ScanAll(quorum, 7)).Order());

        // With no replica left to turn to, the error says how many answered out of how many were needed.
        var all = Keyspace(cluster.Nodes[0]).WithConsistency(ConsistencyLevel.All, ConsistencyLevel.One);
        var e = await Assert.ThrowsAsync<ReplicaTimeoutException>(() => all.ScanAsync(0, 10, []).AsTask());
        Assert.StartsWith("TIMEOUT ALL scan: ", e.RespError);
        Assert.Contains("of 3 required replicas acknowledged", e.RespError);
    }

    private static async Task<List<string>> ScanAll(ClusterKeyspace keyspace, int count)
    {
        var seen = new List<string>();
        long cursor = 0;
        do
        {
            var keys = new List<byte[]>();
            cursor = await keyspace.ScanAsync(cursor, count, keys);
            seen.AddRange(keys.Select(k => Encoding.UTF8.GetString(k)));
        }
        while (cursor != 0);
        return seen;
    }

    [Fact]
    public async Task UpdateValue_ReadThenWriteThroughTheReplicas_KeepsTheExpiry()
    {
        await using var cluster = await TestCluster.StartAsync();
        var ks = Keyspace(cluster.Nodes[0]);
        var expiresAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000;
        await ks.SetAsync(B("u"), B("ab"), expiresAt);
        Assert.True(await ks.UpdateValueAsync(B("u"), (found, current, next) =>
        {
            Assert.True(found);
            next.Write(current);
            next.Write("c"u8);
            return true;
        }));
        Assert.False(await ks.UpdateValueAsync(B("u"), (_, _, next) => false));
        var other = Keyspace(cluster.Nodes[2]);
        Assert.Equal("abc", await Get(other, "u"));
        Assert.Equal(expiresAt, (await other.GetAsync(B("u"), null)).ExpiresAtUnixMs);
        Assert.True(await ks.UpdateValueAsync(B("new"), (found, current, next) =>
        {
            Assert.False(found);
            Assert.True(current.IsEmpty);
            next.Write("1"u8);
            return true;
        }));
        Assert.Equal(0, (await other.GetAsync(B("new"), null)).ExpiresAtUnixMs);
    }

    [Fact]
    public async Task Rename_AcrossReplicaSets_MovesValueAndExpiry()
    {
        await using var cluster = await TestCluster.StartAsync(nodes: 4);
        var ks = Keyspace(cluster.Nodes[0]);
        var expiresAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000;
        await ks.SetAsync(B("from"), B("v"), expiresAt);
        await ks.SetAsync(B("taken"), B("t"), 0);
        Assert.Equal(RenameOutcome.DestinationExists, await ks.RenameAsync(B("from"), B("taken"), onlyIfAbsent: true));
        Assert.Equal(RenameOutcome.Renamed, await ks.RenameAsync(B("from"), B("to"), onlyIfAbsent: false));
        Assert.Equal(RenameOutcome.NoSource, await ks.RenameAsync(B("from"), B("to"), onlyIfAbsent: false));
        var other = Keyspace(cluster.Nodes[3]);
        Assert.Null(await Get(other, "from"));
        Assert.Equal("v", await Get(other, "to"));
        Assert.Equal(expiresAt, (await other.GetAsync(B("to"), null)).ExpiresAtUnixMs);
        Assert.Equal("t", await Get(other, "taken"));
    }

    [Fact]
    public async Task ConditionalSet_IfAbsentThenIfPresent_FollowsExistence()
    {
        await using var cluster = await TestCluster.StartAsync();
        var ks = Keyspace(cluster.Nodes[0]);
        var first = await ks.SetAsync(B("c"), B("1"), new SetOptions(SetCondition.IfAbsent, 0, false), null);
        var second = await Keyspace(cluster.Nodes[1]).SetAsync(B("c"), B("2"), new SetOptions(SetCondition.IfAbsent, 0, false), null);
        var previous = new ArrayBufferWriter<byte>();
        var third = await ks.SetAsync(B("c"), B("3"), new SetOptions(SetCondition.IfPresent, 0, false), previous);
        Assert.True(first.Written);
        Assert.False(second.Written);
        Assert.True(third.Written);
        Assert.Equal("1", Encoding.UTF8.GetString(previous.WrittenSpan));
        Assert.Equal("3", await Get(Keyspace(cluster.Nodes[2]), "c"));
        Assert.True(await ks.DeleteAsync(B("c")));
        Assert.False(await ks.DeleteAsync(B("c")));
        Assert.Null(await Get(ks, "c"));
    }

    [Fact]
    public async Task UpdateExpiry_InThePast_DeletesEverywhere()
    {
        await using var cluster = await TestCluster.StartAsync();
        var ks = Keyspace(cluster.Nodes[0]);
        await ks.SetAsync(B("e"), B("v"), 0);
        var future = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000;
        Assert.True(await ks.UpdateExpiryAsync(B("e"), new ExpiryUpdate(ExpiryAction.Set, future)));
        var lookup = await Keyspace(cluster.Nodes[1]).GetAsync(B("e"), null);
        Assert.Equal(future, lookup.ExpiresAtUnixMs);
        Assert.True(await ks.UpdateExpiryAsync(B("e"), new ExpiryUpdate(ExpiryAction.Set, 1)));
        Assert.Null(await Get(Keyspace(cluster.Nodes[2]), "e"));
    }

    [Fact]
    public async Task Get_ReadLevelAllWithOneDown_ReportsUnavailable()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StopAsync(cluster.Nodes[2]);
        var ks = Keyspace(cluster.Nodes[0]).WithConsistency(ConsistencyLevel.All, ConsistencyLevel.One);
        await ks.SetAsync(B("k"), B("v"), 0);
        var e = await Assert.ThrowsAsync<UnavailableException>(() => ks.GetAsync(B("k"), null).AsTask());
        Assert.StartsWith("UNAVAILABLE ALL read needs 3 of 3", e.RespError);
    }
}
