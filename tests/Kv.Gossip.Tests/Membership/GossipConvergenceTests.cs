using Kv.Gossip.Membership;
using Kv.Simulation;
using Kv.Simulation.Gossip;
using Xunit.Abstractions;

namespace Kv.Gossip.Tests.Membership;

public class GossipConvergenceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Bootstrap: rounds until every node knows every other node as NORMAL, starting from the seeds only.</summary>
    private static int BootstrapRounds(SimulatedGossipCluster cluster)
    {
        var all = Enumerable.Range(0, cluster.Nodes.Count).ToArray();
        var start = cluster.Simulation.Now;
        cluster.StartAll();
        Assert.True(cluster.Simulation.RunUntil(() => cluster.AllRunningKnow(all), TimeSpan.FromSeconds(120), Interval / 10),
            "the cluster did not converge within 120 rounds");
        return (int)Math.Ceiling((cluster.Simulation.Now - start) / Interval);
    }

    /// <summary>Rounds until a state change made by one node is seen by every node.</summary>
    private static int PropagationRounds(SimulatedGossipCluster cluster, int source, string value)
    {
        var address = cluster.AddressOf(source);
        var start = cluster.Simulation.Now;
        cluster.Software(source)!.Gossiper.SetApplicationState(ApplicationState.Load, value);
        bool AllSee()
        {
            foreach (var n in cluster.Nodes)
                if (n.Software is GossipNode g && g.Gossiper.GetEndpointState(address)?.Get(ApplicationState.Load) != value) return false;
            return true;
        }
        Assert.True(cluster.Simulation.RunUntil(AllSee, TimeSpan.FromSeconds(120), Interval / 10), "the change did not spread within 120 rounds");
        return (int)Math.Ceiling((cluster.Simulation.Now - start) / Interval);
    }

    private (int Bootstrap, double Propagation) Measure(int nodes, int seed)
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var sim = new Simulation.Simulation(seed);
        var cluster = new SimulatedGossipCluster(sim, new GossipClusterOptions { Nodes = nodes, TraceMembership = false, AllocateTokens = false });
        var bootstrap = BootstrapRounds(cluster);
        sim.RunFor(TimeSpan.FromSeconds(5));
        var total = 0;
        const int trials = 5;
        for (var t = 0; t < trials; t++)
        {
            total += PropagationRounds(cluster, sim.Random.Next(nodes), $"load-{t}");
            sim.RunFor(TimeSpan.FromSeconds(2));
        }
        var propagation = (double)total / trials;
        output.WriteLine($"{nodes,4} nodes: bootstrap {bootstrap} rounds, change propagation {propagation:0.0} rounds (mean of {trials}), " +
            $"{sim.EventsExecuted} events, {cluster.Network.BytesSent / 1024} KiB sent, {sim.Now.TotalSeconds:0} virtual s in {wall.ElapsedMilliseconds} ms");
        return (bootstrap, propagation);
    }

    [Fact]
    public void Gossip_10To500Nodes_ConvergesInLogarithmicRounds()
    {
        var small = Measure(10, seed: 10);
        var medium = Measure(100, seed: 100);
        var large = Measure(500, seed: 500);
        // Epidemic spread: rounds grow like log N. 50x more nodes may cost at most 3x the rounds.
        Assert.True(large.Propagation <= 3 * small.Propagation, $"500 nodes took {large.Propagation} rounds vs {small.Propagation} for 10");
        Assert.True(large.Bootstrap <= 3 * small.Bootstrap, $"500 nodes bootstrapped in {large.Bootstrap} rounds vs {small.Bootstrap} for 10");
        Assert.True(medium.Propagation <= large.Propagation + 2, "100 nodes should not be much slower than 500");
    }
}
