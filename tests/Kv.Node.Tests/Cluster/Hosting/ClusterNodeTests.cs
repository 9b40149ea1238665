using System.Buffers;
using System.Text;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Hosting;
using Kv.Node.Cluster.Replica;
using Kv.Node.Time;

namespace Kv.Node.Tests.Cluster.Hosting;

public sealed class ClusterNodeTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task StartAsync_TwoNodesJoiningAtOnce_BothGetTokensOfTheirOwn()
    {
        // Both joiners see the same one-node ring; allocating against it at the same moment gave both the same
        // tokens, and the ring kept one of them: a node that served requests but owned nothing.
        var root = Path.Combine(Path.GetTempPath(), "kv-clusternode-" + Guid.NewGuid().ToString("N"));
        var nodes = new List<ClusterNode>();
        try
        {
            ClusterOptions Options(int i, List<NodeAddress> seeds) => new()
            {
                NodeId = "j" + i,
                Seeds = seeds,
                Rack = "rack" + i,
                GossipInterval = TimeSpan.FromMilliseconds(100),
            };
            Task<ClusterNode> Start(int i, List<NodeAddress> seeds) => ClusterNode.StartAsync(Options(i, seeds), Path.Combine(root, "node" + i),
                new InMemoryReplicaStore(), new HybridLogicalClock(TimeProvider.System), "127.0.0.1:" + (6379 + i));

            nodes.Add(await Start(0, []));
            List<NodeAddress> seeds = [nodes[0].PeerAddress];
            nodes.AddRange(await Task.WhenAll(Start(1, seeds), Start(2, seeds)));

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && nodes.Any(n => n.Ring.Current.Ring.EndpointCount < 3)) await Task.Delay(50);
            Assert.All(nodes, n => Assert.Equal(3, n.Ring.Current.Ring.EndpointCount));
            var ring = nodes[0].Ring.Current.Ring;
            Assert.Equal(48, ring.TokenCount); // 3 x 16: no token claimed twice
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task StartAsync_ThreeNodesWithSeeds_FormOneRingAndServeQuorum()
    {
        var root = Path.Combine(Path.GetTempPath(), "kv-clusternode-" + Guid.NewGuid().ToString("N"));
        var nodes = new List<ClusterNode>();
        try
        {
            List<NodeAddress> seeds = [];
            for (var i = 0; i < 3; i++)
            {
                var options = new ClusterOptions
                {
                    NodeId = "n" + i,
                    Seeds = seeds,
                    Rack = "rack" + i,
                    GossipInterval = TimeSpan.FromMilliseconds(100),
                };
                var node = await ClusterNode.StartAsync(options, Path.Combine(root, "node" + i), new InMemoryReplicaStore(),
                    new HybridLogicalClock(TimeProvider.System), "127.0.0.1:" + (6379 + i));
                nodes.Add(node);
                if (i == 0) seeds = [node.PeerAddress];
            }

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && nodes.Any(n => n.Ring.Current.Ring.EndpointCount < 3)) await Task.Delay(50);
            Assert.All(nodes, n => Assert.Equal(3, n.Ring.Current.Ring.EndpointCount));

            await nodes[0].Keyspace.SetAsync(B("hello"), B("world"), 0);
            var value = new ArrayBufferWriter<byte>();
            var lookup = await nodes[2].Keyspace.WithConsistency(ConsistencyLevel.All, ConsistencyLevel.Quorum).GetAsync(B("hello"), value);
            Assert.True(lookup.Found);
            Assert.Equal("world", Encoding.UTF8.GetString(value.WrittenSpan));

            var ring = nodes[1].DescribeRing();
            Assert.Contains(ring, kv => kv.Key == "ring_nodes" && kv.Value == "3");
            var lines = ring.Where(kv => kv.Key.StartsWith("node", StringComparison.Ordinal)).Select(kv => kv.Value).ToList();
            Assert.Equal(3, lines.Count);
            Assert.All(lines, l => Assert.Contains("status=NORMAL,state=up", l));
            Assert.Contains(lines, l => l.StartsWith("id=n2,", StringComparison.Ordinal) && l.Contains("rack=rack2") && l.Contains("client=127.0.0.1:6381"));
            var owns = lines.Sum(l => double.Parse(l[(l.IndexOf("owns=", StringComparison.Ordinal) + 5)..].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture));
            Assert.InRange(owns, 0.99, 1.01);
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
