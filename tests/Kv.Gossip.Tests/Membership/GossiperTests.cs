using Kv.Gossip.Membership;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Kv.Simulation;
using Kv.Simulation.Gossip;

namespace Kv.Gossip.Tests.Membership;

public class GossiperTests
{
    private static SimulatedGossipCluster Converged(int nodes, int seed, TimeSpan? quarantine = null, Action<GossipNode>? extend = null)
    {
        var sim = new Simulation.Simulation(seed);
        var cluster = new SimulatedGossipCluster(sim, new GossipClusterOptions { Nodes = nodes, QuarantineDelay = quarantine ?? TimeSpan.FromSeconds(60) }, extend);
        cluster.StartAll();
        var all = Enumerable.Range(0, nodes).ToArray();
        Assert.True(sim.RunUntil(() => cluster.AllRunningKnow(all) && cluster.ViewsAgreeWithReality(), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)));
        return cluster;
    }

    [Fact]
    public void RestartedNode_NewGenerationSupersedesOldState()
    {
        var recorders = new Dictionary<int, MembershipRecorder>();
        var cluster = Converged(8, seed: 5, extend: g =>
        {
            var r = new MembershipRecorder(g.Node.Clock);
            recorders[g.Node.Id] = r;
            g.Gossiper.Register(r);
        });
        var sim = cluster.Simulation;
        var address = cluster.AddressOf(3);
        cluster.Software(3)!.Gossiper.SetApplicationState(ApplicationState.Load, "old-incarnation");
        sim.RunFor(TimeSpan.FromSeconds(10));
        var oldGeneration = cluster.Software(0)!.Gossiper.GetEndpointState(address)!.Generation;
        Assert.Equal("old-incarnation", cluster.Software(0)!.Gossiper.GetEndpointState(address)!.Get(ApplicationState.Load));

        cluster.Nodes[3].Crash();
        sim.RunFor(TimeSpan.FromSeconds(2)); // restarted before anyone convicted it
        cluster.Nodes[3].Start();
        var newGeneration = cluster.Software(3)!.Gossiper.GetEndpointState(address)!.Generation;
        Assert.True(newGeneration > oldGeneration);

        var peers = Enumerable.Range(0, 8).Where(i => i != 3).ToArray();
        Assert.True(sim.RunUntil(() => peers.All(i => cluster.Software(i)!.Gossiper.GetEndpointState(address)!.Generation == newGeneration),
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100)));
        sim.RunFor(TimeSpan.FromSeconds(10));
        foreach (var i in peers)
        {
            var state = cluster.Software(i)!.Gossiper.GetEndpointState(address)!;
            Assert.Null(state.Get(ApplicationState.Load)); // the old incarnation's state is gone, never merged back
            Assert.True(state.IsAlive);
            Assert.Equal(1, recorders[i].Count("restart", address));
        }
    }

    [Fact]
    public void LeftNode_ForgottenAfterQuarantineAndNotResurrected()
    {
        var quarantine = TimeSpan.FromSeconds(20);
        var recorders = new Dictionary<int, MembershipRecorder>();
        var cluster = Converged(8, seed: 9, quarantine, g =>
        {
            var r = new MembershipRecorder(g.Node.Clock);
            recorders[g.Node.Id] = r;
            g.Gossiper.Register(r);
        });
        var sim = cluster.Simulation;
        var address = cluster.AddressOf(5);
        cluster.Software(5)!.Gossiper.SetApplicationState(ApplicationState.Status, NodeStatusText.ToText(NodeStatus.Left));
        var peers = Enumerable.Range(0, 8).Where(i => i != 5).ToArray();
        Assert.True(sim.RunUntil(() => peers.All(i => cluster.Software(i)!.Gossiper.GetEndpointState(address)?.Status == NodeStatus.Left),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100)));
        cluster.Software(5)!.Gossiper.Stop();
        cluster.Nodes[5].Crash();
        foreach (var i in peers) Assert.False(cluster.Software(i)!.Gossiper.IsAlive(address)); // LEFT means down at once

        Assert.True(sim.RunUntil(() => peers.All(i => cluster.Software(i)!.Gossiper.GetEndpointState(address) is null),
            quarantine + TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100)), "the left node was not forgotten after the quarantine delay");
        sim.RunFor(TimeSpan.FromSeconds(30));
        foreach (var i in peers)
        {
            Assert.Null(cluster.Software(i)!.Gossiper.GetEndpointState(address));
            Assert.Equal(1, recorders[i].Count("remove", address));
            Assert.Equal(7, cluster.Software(i)!.Gossiper.KnownEndpointCount);
        }
    }

    [Fact]
    public void ClusterRing_FollowsGossip_JoinsAndLeaves()
    {
        var cluster = Converged(6, seed: 4);
        var gossiper = cluster.Software(0)!.Gossiper;
        var ring = new ClusterRing(gossiper, new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 3 }));
        var placement = ring.Current;
        Assert.Equal(6, placement.Ring.EndpointCount);
        Assert.Equal(6 * 16, placement.Ring.TokenCount);
        Assert.Same(placement, ring.Current); // unchanged membership: the same snapshot, no rebuild
        var replicas = placement.ReplicasFor(Partitioner.Token("user:1"u8));
        Assert.Equal(3, replicas.Length);
        Assert.Equal(3, replicas.ToArray().Select(placement.Ring.RackOf).Distinct().Count());

        cluster.Software(2)!.Gossiper.SetApplicationState(ApplicationState.Status, NodeStatusText.ToText(NodeStatus.Left));
        Assert.True(cluster.Simulation.RunUntil(() => ring.Current.Ring.EndpointCount == 5, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100)));
        Assert.False(ring.Current.Ring.Contains(cluster.AddressOf(2)));
    }

    [Fact]
    public void OnMessage_GarbageInput_DroppedWithoutThrowing()
    {
        var cluster = Converged(3, seed: 1);
        var handler = (IMessageHandler)cluster.Software(0)!.Gossiper;
        var random = new Random(3);
        var from = cluster.AddressOf(1);
        for (var i = 0; i < 5000; i++)
        {
            var junk = new byte[random.Next(0, 64)];
            random.NextBytes(junk);
            if (junk.Length > 0 && i % 2 == 0) junk[0] = GossipMessage.FormatVersion;
            if (junk.Length > 1 && i % 4 == 0) junk[1] = (byte)random.Next(1, 5);
            handler.OnMessage(from, junk);
        }
        Assert.True(cluster.Software(0)!.Gossiper.IsStarted);
        cluster.Simulation.RunFor(TimeSpan.FromSeconds(10));
        Assert.True(cluster.ViewsAgreeWithReality());
    }

    [Fact]
    public void OnMessage_Ack2WithDelta_AppliesItAndEveryTruncationIsDropped()
    {
        var cluster = Converged(2, seed: 6);
        var handler = (IMessageHandler)cluster.Software(0)!.Gossiper;
        var stranger = new NodeAddress("192.168.7.7", 7000);
        var w = new GossipWriter();
        w.WriteByte(GossipMessage.FormatVersion);
        w.WriteByte((byte)GossipMessageType.Ack2);
        w.WriteVarint(1UL);
        var state = new EndpointState(new HeartbeatState(1_700_000_000_000, 42), ApplicationStateMap.Empty
            .SetItem(ApplicationState.Status, new VersionedValue("NORMAL", 40))
            .SetItem((ApplicationState)200, new VersionedValue("an extension key", 41)));
        EndpointDelta.Write(w, stranger, state, newerThan: -1);
        var message = w.Written.ToArray();
        for (var cut = 0; cut < message.Length; cut++) handler.OnMessage(cluster.AddressOf(1), message.AsSpan(0, cut));
        Assert.Null(cluster.Software(0)!.Gossiper.GetEndpointState(stranger));
        handler.OnMessage(cluster.AddressOf(1), message);
        var learned = cluster.Software(0)!.Gossiper.GetEndpointState(stranger)!;
        Assert.Equal(42, learned.Heartbeat.Version);
        Assert.Equal(NodeStatus.Normal, learned.Status);
        Assert.Equal("an extension key", learned.Get((ApplicationState)200)); // unknown keys are kept and passed on
        Assert.False(learned.IsAlive); // learned second-hand: not up until its heartbeat moves
    }

    [Fact]
    public void SetApplicationState_ListenersSeeChangesInOrder()
    {
        var cluster = Converged(2, seed: 2);
        var gossiper = cluster.Software(0)!.Gossiper;
        var seen = new List<string>();
        gossiper.Register(new ChangeListener(seen));
        for (var i = 0; i < 50; i++) gossiper.SetApplicationState(ApplicationState.Load, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), seen);
        Assert.True(cluster.Simulation.RunUntil(() => cluster.Software(1)!.Gossiper.GetEndpointState(cluster.AddressOf(0))?.Get(ApplicationState.Load) == "49",
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100)));
    }

    private sealed class ChangeListener(List<string> seen) : IEndpointStateListener
    {
        public void OnChange(NodeAddress endpoint, ApplicationState key, VersionedValue value)
        {
            if (key == ApplicationState.Load) seen.Add(value.Value);
        }
    }
}
