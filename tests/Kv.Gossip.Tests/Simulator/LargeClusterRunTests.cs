using System.Diagnostics;
using Kv.Simulation.Gossip;
using Xunit.Abstractions;

namespace Kv.Gossip.Tests.Simulator;

/// <summary>
/// The simulator figure: 1000 gossiping nodes for 60 virtual seconds. Reports the wall time (a figure,
/// not an assertion); asserts only what the run must achieve. Run with
/// <c>KV_SOAK=1 dotnet test tests/Kv.Gossip.Tests -c Release --filter LargeClusterRun --logger "console;verbosity=detailed"</c>.
/// </summary>
public class LargeClusterRunTests(ITestOutputHelper output)
{
    [SoakFact]
    public void Run_1000Nodes60VirtualSeconds_ConvergesAndReportsWallTime()
    {
        var wall = Stopwatch.StartNew();
        var sim = new Kv.Simulation.Simulation(2026);
        var cluster = new SimulatedGossipCluster(sim, new GossipClusterOptions { Nodes = 1000, TraceMembership = false });
        var setup = wall.Elapsed;
        cluster.StartAll();
        sim.RunFor(TimeSpan.FromSeconds(60));
        wall.Stop();
        output.WriteLine($"1000 nodes, 60 virtual s: {wall.Elapsed.TotalSeconds:0.0} s wall (token allocation {setup.TotalSeconds:0.0} s), " +
            $"{sim.EventsExecuted} events, {cluster.Network.MessagesSent} messages, {cluster.Network.BytesSent / (1024 * 1024)} MiB, " +
            $"{GC.CollectionCount(0)} gen0 / {GC.CollectionCount(2)} gen2 GCs");
        Assert.True(cluster.AllRunningKnow(Enumerable.Range(0, 1000).ToArray()));
        Assert.True(cluster.ViewsAgreeWithReality());
    }
}
