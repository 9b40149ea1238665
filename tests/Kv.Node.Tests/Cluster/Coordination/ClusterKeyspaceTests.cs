using System.Buffers;
using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Storage;

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
