using Kv.Node.Cluster.Coordination;
using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Cluster.Coordination;

/// <summary>The CONSISTENCY command over RESP: a connection lowers its level and keeps working with two of three replicas down.</summary>
public sealed class ConsistencyCommandTests
{
    [Fact]
    public async Task Consistency_One_WithTwoOfThreeDown_SetAndGetSucceedWhereQuorumFails()
    {
        await using var cluster = await TestCluster.StartAsync(nodes: 3);
        var node = cluster.Nodes[0];
        await using var server = await TestServer.StartAsync(new ClusterKeyspace(node.Coordinator, node.Store, node.Handoff));
        await cluster.StopAsync(cluster.Nodes[1]);
        await cluster.StopAsync(cluster.Nodes[2]);
        using var client = await server.RawAsync();

        await client.SendAsync("*1\r\n$11\r\nCONSISTENCY\r\n");
        Assert.Equal("*4\r\n$4\r\nread\r\n$6\r\nQUORUM\r\n$5\r\nwrite\r\n$6\r\nQUORUM\r\n", await client.ReceiveRepliesAsync(1));

        await client.SendAsync("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        Assert.StartsWith("-UNAVAILABLE QUORUM read", await client.ReceiveRepliesAsync(1));

        // A QUORUM SET is refused with the counts, and the connection goes on (it used to be closed).
        await client.SendAsync("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nq\r\n*1\r\n$4\r\nPING\r\n");
        var refused = await client.ReceiveRepliesAsync(2);
        Assert.StartsWith("-UNAVAILABLE QUORUM write needs 2 of 3 replicas but only 1 are up", refused);
        Assert.EndsWith("\r\n+PONG\r\n", refused);

        await client.SendAsync("*2\r\n$11\r\nCONSISTENCY\r\n$3\r\nONE\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        Assert.Equal("+OK\r\n+OK\r\n$1\r\nv\r\n", await client.ReceiveRepliesAsync(3));

        // Another connection keeps the node's default levels.
        using var other = await server.RawAsync();
        await other.SendAsync("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        Assert.StartsWith("-UNAVAILABLE QUORUM read", await other.ReceiveRepliesAsync(1));
    }

    [Theory]
    [InlineData("*2\r\n$11\r\nCONSISTENCY\r\n$4\r\nMANY\r\n", "-ERR unknown consistency level 'MANY'")]
    [InlineData("*3\r\n$11\r\nCONSISTENCY\r\n$4\r\nREAD\r\n$3\r\nANY\r\n", "-ERR ANY is a write level")]
    [InlineData("*4\r\n$11\r\nCONSISTENCY\r\n$4\r\nREAD\r\n$3\r\nONE\r\n$5\r\nWRITE\r\n", "-ERR syntax error")]
    public async Task Consistency_BadArguments_ClearError(string request, string expectedStart)
    {
        await using var cluster = await TestCluster.StartAsync(nodes: 3);
        var node = cluster.Nodes[0];
        await using var server = await TestServer.StartAsync(new ClusterKeyspace(node.Coordinator, node.Store, node.Handoff));
        using var client = await server.RawAsync();
        await client.SendAsync(request);
        Assert.StartsWith(expectedStart, await client.ReceiveRepliesAsync(1));
    }

    [Fact]
    public async Task Consistency_SingleNode_SaysItNeedsACluster()
    {
        await using var server = await TestServer.StartAsync();
        using var client = await server.RawAsync();
        await client.SendAsync("*2\r\n$11\r\nCONSISTENCY\r\n$3\r\nONE\r\n");
        Assert.StartsWith("-ERR CONSISTENCY needs a cluster node", await client.ReceiveRepliesAsync(1));
    }
}
