using Kv.Gossip.Ring;

namespace Kv.Gossip.Tests.Ring;

public class ReplicationStrategyTests
{
    [Fact]
    public void SimpleStrategy_EveryRange_OwnerFirstThenDistinctClockwise()
    {
        var ring = RingTestData.Grow(10);
        var placement = new ReplicaPlacement(ring, new SimpleStrategy(3));
        for (var i = 0; i < ring.TokenCount; i++)
        {
            var replicas = placement.ReplicasOfRange(i).ToArray();
            Assert.Equal(3, replicas.Length);
            Assert.Equal(ring.TokenOwners[i], replicas[0]);
            Assert.Equal(3, replicas.Distinct().Count());
            // The second replica is the first different owner clockwise.
            var j = (i + 1) % ring.TokenCount;
            while (ring.TokenOwners[j] == replicas[0]) j = (j + 1) % ring.TokenCount;
            Assert.Equal(ring.TokenOwners[j], replicas[1]);
        }
    }

    [Fact]
    public void SimpleStrategy_FewerNodesThanRf_ReplicatesOnAll()
    {
        var placement = new ReplicaPlacement(RingTestData.Grow(2), new SimpleStrategy(3));
        Assert.Equal(2, placement.ReplicasFor(12345).Length);
    }

    [Fact]
    public void NetworkTopologyStrategy_EnoughRacks_EveryRangeOnDistinctRacks()
    {
        var ring = RingTestData.Grow(12, racks: 4);
        var placement = new ReplicaPlacement(ring, new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 3 }));
        for (var i = 0; i < ring.TokenCount; i++)
        {
            var replicas = placement.ReplicasOfRange(i).ToArray();
            Assert.Equal(3, replicas.Length);
            Assert.Equal(3, replicas.Select(ring.RackOf).Distinct().Count());
        }
        // SimpleStrategy on the same ring ignores racks: some ranges end up with two replicas in one rack.
        var simple = new ReplicaPlacement(ring, new SimpleStrategy(3));
        Assert.Contains(Enumerable.Range(0, ring.TokenCount), i => simple.ReplicasOfRange(i).ToArray().Select(ring.RackOf).Distinct().Count() < 3);
    }

    [Fact]
    public void NetworkTopologyStrategy_FewerRacksThanRf_UsesEveryRackThenFills()
    {
        var ring = RingTestData.Grow(6, racks: 2);
        var placement = new ReplicaPlacement(ring, new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 3 }));
        for (var i = 0; i < ring.TokenCount; i++)
        {
            var replicas = placement.ReplicasOfRange(i).ToArray();
            Assert.Equal(3, replicas.Distinct().Count());
            Assert.Equal(2, replicas.Select(ring.RackOf).Distinct().Count());
        }
    }

    [Fact]
    public void NetworkTopologyStrategy_TwoDatacenters_HonoursPerDatacenterCounts()
    {
        var ring = RingTestData.Grow(12, racks: 3, datacenters: 2); // nodes 0-2 dc1, 3-5 dc2, 6-8 dc1, 9-11 dc2
        var strategy = new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 2, ["dc2"] = 1 });
        var placement = new ReplicaPlacement(ring, strategy);
        Assert.Equal(3, strategy.MaxReplicas(ring));
        for (var i = 0; i < ring.TokenCount; i++)
        {
            var replicas = placement.ReplicasOfRange(i).ToArray();
            Assert.Equal(2, replicas.Count(e => ring.DatacenterName(ring.DatacenterOf(e)) == "dc1"));
            Assert.Equal(1, replicas.Count(e => ring.DatacenterName(ring.DatacenterOf(e)) == "dc2"));
            var dc1 = replicas.Where(e => ring.DatacenterName(ring.DatacenterOf(e)) == "dc1").ToArray();
            Assert.NotEqual(ring.RackOf(dc1[0]), ring.RackOf(dc1[1]));
        }
    }

    [Fact]
    public void NetworkTopologyStrategy_NoPositiveCount_ThrowsClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 0 }));
        Assert.Contains("replica count", e.Message);
    }

    [Fact]
    public void ReplicasFor_Lookup_AllocatesNothing()
    {
        var placement = new ReplicaPlacement(RingTestData.Grow(100), new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 3 }));
        var destination = new Kv.Gossip.Transport.NodeAddress[3];
        // The least of three rounds: the runtime can allocate on this thread while it tiers the loop up (CI saw
        // 2800 bytes once); an allocation per lookup would show in every round, 10000 times over.
        var least = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var sum = LookUp(placement, destination);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(3 * 2 * 10_000, sum);
        }
        Assert.Equal(0, least);
    }

    private static int LookUp(ReplicaPlacement placement, Kv.Gossip.Transport.NodeAddress[] destination)
    {
        var sum = 0;
        for (var i = 0; i < 10_000; i++)
        {
            sum += placement.ReplicasFor((ulong)i * 0x9E3779B97F4A7C15UL).Length;
            sum += placement.GetReplicas((ulong)i * 0x9E3779B97F4A7C15UL, destination);
        }
        return sum;
    }
}
