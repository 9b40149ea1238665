using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Net;
using Kv.Node.Cluster.Replica;
using Kv.Node.Resp.Net;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Tests.Cluster.Coordination;

/// <summary>
/// Inbound peer connections received through the node's epoll loop, as kv-node runs them (NodeHost shares the loop
/// between its RESP server and its internode transport); the other coordinator tests use the runtime's sockets.
/// </summary>
public sealed class EpollInboundTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task QuorumTraffic_PeersOnTheEpollLoop_ServedAcrossARestart()
    {
        if (!Epoll.IsSupported) return; // no epoll loop on this platform: kv-node uses the runtime's sockets there
        using var loop = new EpollLoop(2, inlineCompletions: true, NullLogger.Instance);
        await using var cluster = await TestCluster.StartAsync(transports: (_, port) => TcpTransport.Start(new TcpTransportOptions
        {
            ListenHost = "127.0.0.1",
            ListenPort = port,
            ReconnectBackoffInitial = TimeSpan.FromMilliseconds(20),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
            SocketLoop = loop,
        }));
        for (var i = 0; i < 200; i++)
            await cluster.Nodes[i % 3].Coordinator.WriteAsync(B("k" + i), MutationKind.Value, B("v" + i), 0, ConsistencyLevel.Quorum);
        for (var i = 0; i < 200; i++)
            Assert.Equal("v" + i, Encoding.UTF8.GetString((await cluster.Nodes[(i + 1) % 3].Coordinator.ReadAsync(B("k" + i), ConsistencyLevel.Quorum)).Value.Span));
        Assert.True(loop.SocketCount >= 6, $"each node should receive from its two peers through the loop; {loop.SocketCount} sockets registered");

        // A node going away closes its peers' inbound connections on the loop; back on the same port, new ones come.
        await cluster.StopAsync(cluster.Nodes[2]);
        await cluster.Nodes[0].Coordinator.WriteAsync(B("during"), MutationKind.Value, B("x"), 0, ConsistencyLevel.Quorum);
        cluster.Restart(cluster.Nodes[2]);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                await cluster.Nodes[2].Coordinator.WriteAsync(B("after"), MutationKind.Value, B("y"), 0, ConsistencyLevel.All);
                break;
            }
            catch (Exception e) when (e is ReplicaTimeoutException or UnavailableException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
        var cell = await cluster.Nodes[1].Coordinator.ReadAsync(B("after"), ConsistencyLevel.All);
        Assert.Equal("y", Encoding.UTF8.GetString(cell.Value.Span));
    }
}
