using Kv.Gossip.FailureDetection;
using Kv.Simulation;
using Kv.Simulation.Gossip;
using Xunit.Abstractions;

namespace Kv.Gossip.Tests.Membership;

public class FailureDetectionSimulationTests(ITestOutputHelper output)
{
    private static (Simulation.Simulation Sim, SimulatedGossipCluster Cluster, Dictionary<int, MembershipRecorder> Recorders) Start(
        int nodes, int seed, LinkProfile? link = null)
    {
        var sim = new Simulation.Simulation(seed);
        var recorders = new Dictionary<int, MembershipRecorder>();
        SimulatedGossipCluster? cluster = null;
        cluster = new SimulatedGossipCluster(sim, new GossipClusterOptions { Nodes = nodes, Link = link ?? LinkProfile.Lan },
            software =>
            {
                // A fresh recorder per incarnation; the last one of each node is kept.
                var recorder = new MembershipRecorder(software.Node.Clock);
                recorders[software.Node.Id] = recorder;
                software.Gossiper.Register(recorder);
            });
        cluster.StartAll();
        var all = Enumerable.Range(0, nodes).ToArray();
        Assert.True(sim.RunUntil(() => cluster.AllRunningKnow(all) && cluster.ViewsAgreeWithReality(), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)));
        sim.RunFor(TimeSpan.FromSeconds(30)); // let every detector learn the heartbeat rhythm
        Assert.True(cluster.ViewsAgreeWithReality());
        return (sim, cluster, recorders);
    }

    [Fact]
    public void CrashedNode_ConvictedByAllPeers_WithinPhiBound()
    {
        const int n = 20;
        var (sim, cluster, recorders) = Start(n, seed: 42);
        const int victim = 7;
        var victimAddress = cluster.AddressOf(victim);
        var crashAt = sim.Now;
        var threshold = new PhiAccrualOptions().Threshold;
        cluster.Nodes[victim].Crash();

        Assert.True(sim.RunUntil(() => Enumerable.Range(0, n).Where(i => i != victim).All(i => !cluster.Software(i)!.Gossiper.IsAlive(victimAddress)),
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(10)), "not every peer convicted the crashed node within 60 s");

        var z = PhiAccrualFailureDetector.ZForPhi(threshold);
        var worst = TimeSpan.Zero;
        for (var i = 0; i < n; i++)
        {
            if (i == victim) continue;
            var peer = cluster.Software(i)!;
            var convictedAt = recorders[i].Events.Single(e => e.Kind == "down" && e.Endpoint == victimAddress).At;
            var lastHeard = TimeSpan.FromTicks(peer.FailureDetector.LastArrival(victimAddress)!.Value);
            var silence = peer.FailureDetector.SilenceBeforeConviction(victimAddress)!.Value;
            // phi crosses the threshold exactly `silence` after the last heartbeat; the status check runs once per
            // gossip round, so conviction comes within one interval after that, and never before.
            Assert.InRange(convictedAt, lastHeard + silence, lastHeard + silence + cluster.Options.GossipInterval + TimeSpan.FromMilliseconds(1));
            worst = TimeSpan.FromTicks(Math.Max(worst.Ticks, (convictedAt - crashAt).Ticks));
        }
        // The bound from phi = 8 alone: heartbeat news about every 1 s, 3 s acceptable pause, deviation at least 1 s:
        // 1 + 3 + z x sigma of silence, plus the age of the last relayed heartbeat and one check interval.
        output.WriteLine($"z(phi=8) = {z:0.00}; slowest conviction {worst.TotalSeconds:0.00} s after the crash");
        Assert.True(worst < TimeSpan.FromSeconds(20), $"slowest conviction took {worst}");
        Assert.Equal(0, recorders.Where(kv => kv.Key != victim).Sum(kv => kv.Value.Events.Count(e => e.Kind == "down" && e.Endpoint != victimAddress)));
    }

    [Fact]
    public void JitteryLinks_NoNodeConvicted()
    {
        foreach (var (n, seed) in new[] { (30, 7), (30, 8), (100, 9) })
        {
            var (sim, cluster, recorders) = Start(n, seed, LinkProfile.Jittery);
            sim.RunFor(TimeSpan.FromMinutes(n == 100 ? 1 : 3));
            AssertNoConviction(cluster, recorders);
        }
    }

    private void AssertNoConviction(SimulatedGossipCluster cluster, Dictionary<int, MembershipRecorder> recorders)
    {
        var downs = recorders.Sum(kv => kv.Value.Count("down"));
        output.WriteLine($"{cluster.Nodes.Count} nodes: {cluster.Network.MessagesDropped} of {cluster.Network.MessagesSent} messages lost; {downs} convictions");
        foreach (var (observer, r) in recorders)
            foreach (var e in r.Events.Where(e => e.Kind == "down"))
                output.WriteLine($"  node {observer} saw {cluster.IdOf(e.Endpoint)} down at {e.At.TotalSeconds:0.00}");
        Assert.True(cluster.Network.MessagesDropped > 0);
        Assert.Equal(0, downs);
        Assert.True(cluster.ViewsAgreeWithReality());
    }

    [Fact]
    public void PausedNode_ConvictedThenUpAgainAfterResume()
    {
        const int n = 15;
        var (sim, cluster, recorders) = Start(n, seed: 3);
        const int victim = 4;
        var address = cluster.AddressOf(victim);
        var peers = Enumerable.Range(0, n).Where(i => i != victim).ToArray();
        cluster.Nodes[victim].Pause();
        Assert.True(sim.RunUntil(() => peers.All(i => !cluster.Software(i)!.Gossiper.IsAlive(address)), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100)));
        sim.RunFor(TimeSpan.FromSeconds(10));
        var resumedAt = sim.Now;
        cluster.Nodes[victim].Resume();
        Assert.True(sim.RunUntil(() => peers.All(i => cluster.Software(i)!.Gossiper.IsAlive(address)), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100)));
        output.WriteLine($"all peers saw the resumed node up {(sim.Now - resumedAt).TotalSeconds:0.0} s after it resumed");
        foreach (var i in peers) Assert.True(recorders[i].Count("up", address) >= 2); // up at start, up again after the pause
        // The paused node's own view: it saw nothing while frozen, and must not keep anyone down wrongly afterwards.
        sim.RunFor(TimeSpan.FromSeconds(20));
        Assert.True(cluster.ViewsAgreeWithReality());
    }

    [Fact]
    public void Partition_EachSideConvictsTheOther_ThenHealsAndReconverges()
    {
        const int n = 16;
        var (sim, cluster, recorders) = Start(n, seed: 11);
        var left = cluster.Nodes.Take(n / 2).ToList();     // holds seeds 0-2
        var right = cluster.Nodes.Skip(n / 2).ToList();
        cluster.Network.Partition(left, right);
        bool SidesSplit() => left.All(a => right.All(b => !cluster.Software(a.Id)!.Gossiper.IsAlive(cluster.AddressOf(b.Id))))
            && right.All(a => left.All(b => !cluster.Software(a.Id)!.Gossiper.IsAlive(cluster.AddressOf(b.Id))));
        Assert.True(sim.RunUntil(SidesSplit, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100)));
        // A state change on the isolated side must reach the other side after healing.
        cluster.Software(right[0].Id)!.Gossiper.SetApplicationState(Kv.Gossip.Membership.ApplicationState.Load, "12345");
        sim.RunFor(TimeSpan.FromSeconds(30));
        cluster.Network.Heal();
        var healedAt = sim.Now;
        var address = cluster.AddressOf(right[0].Id);
        Assert.True(sim.RunUntil(() => cluster.ViewsAgreeWithReality()
            && cluster.Nodes.All(x => cluster.Software(x.Id)!.Gossiper.GetEndpointState(address)?.Get(Kv.Gossip.Membership.ApplicationState.Load) == "12345"),
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100)), "views did not reconverge within 60 s of healing");
        output.WriteLine($"views reconverged {(sim.Now - healedAt).TotalSeconds:0.0} s after the heal");
        Assert.True(recorders.Values.Sum(r => r.Count("down")) >= 2 * (n / 2) * (n / 2));
    }
}
