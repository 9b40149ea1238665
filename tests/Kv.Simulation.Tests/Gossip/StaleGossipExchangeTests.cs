using Kv.Gossip.Membership;
using Kv.Simulation.Gossip;

namespace Kv.Simulation.Tests.Gossip;

/// <summary>
/// Regression (seeds 22 and 72 of the cluster chaos run never settled): a node paused with a SYN from a peer queued
/// answers it after that peer restarted. The answer holds only what the peer's previous incarnation lacked (a
/// heartbeat, no application states), and the restarted peer learned the paused node from it: stateless, with a
/// version its digests then claimed, so it never asked for the states and never put the node in its ring.
/// </summary>
public sealed class StaleGossipExchangeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Gossiper_PeerAnswersOurPreviousIncarnationsSyn_EndpointStillLearnedInFull(int seed)
    {
        var simulation = new Simulation(seed);
        var cluster = new SimulatedGossipCluster(simulation, new GossipClusterOptions { Nodes = 4, Seeds = 2, TraceMembership = false });
        cluster.StartAll();
        Assert.True(simulation.RunUntil(() => cluster.AllRunningKnow([0, 1, 2, 3]) && cluster.ViewsAgreeWithReality(), TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100)));

        var paused = cluster.Nodes[3];
        var restarted = cluster.Nodes[2];
        paused.Pause();
        // Node 2 keeps gossiping to node 3 (not yet convicted), and those SYNs wait in node 3's queue.
        simulation.RunFor(TimeSpan.FromSeconds(6));
        restarted.Crash();
        simulation.RunFor(TimeSpan.FromSeconds(4));
        // Same instant: node 3 answers the queued SYNs of node 2's previous incarnation once node 2 is back.
        paused.Resume();
        restarted.Start();

        Assert.True(simulation.RunUntil(() => cluster.AllRunningKnow([0, 1, 2, 3]) && cluster.ViewsAgreeWithReality(), TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(100)),
            $"node 2 knows node 3 as {cluster.Software(2)!.Gossiper.GetEndpointState(cluster.AddressOf(3))?.ToString() ?? "nothing"}");
        Assert.Equal(NodeStatus.Normal, cluster.Software(2)!.Gossiper.GetEndpointState(cluster.AddressOf(3))!.Status);
    }
}
