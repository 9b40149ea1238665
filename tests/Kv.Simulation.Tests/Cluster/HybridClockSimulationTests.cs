using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Time;
using Kv.Protocol.Internode;
using Kv.Simulation.Cluster;

namespace Kv.Simulation.Tests.Cluster;

/// <summary>
/// HLC behaviour in a running cluster, which the unit tests of tests/Kv.Node.Tests/Time (one clock: a wall clock
/// stepping back, restart above the persisted mark, concurrency) do not reach: nodes with skewed wall clocks
/// merging each other's timestamps, a node whose clock steps back across a crash, last-write-wins order.
/// </summary>
public sealed class HybridClockSimulationTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void WriteAsync_SkewedClocksAndRestartsWithClockSteps_TimestampsMonotonicPerNodeAndLastWriteWins(int seed) => SimulationThread.Run(() =>
    {
        var simulation = new Simulation(seed);
        using var cluster = new SimulatedKvCluster(simulation, new KvClusterOptions { Nodes = 3, Racks = 3 });
        // Node 0 runs a minute fast, node 1 a minute slow, node 2 on time.
        cluster.SetClockOffset(0, TimeSpan.FromMinutes(1));
        cluster.SetClockOffset(1, TimeSpan.FromMinutes(-1));
        cluster.StartAll();
        Assert.True(simulation.RunUntil(cluster.IsSettled, TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100)));

        var random = new Random(seed);
        var issued = new List<long>[3];
        for (var i = 0; i < 3; i++) issued[i] = [];
        long previous = 0;
        string last = "";
        for (var step = 0; step < 60; step++)
        {
            if (step % 15 == 14)
            {
                // A crash, and the clock comes back two minutes earlier than it was (a bad NTP step at boot).
                var victim = random.Next(3);
                cluster.Nodes[victim].Crash();
                simulation.RunFor(TimeSpan.FromSeconds(1));
                cluster.SetClockOffset(victim, cluster.ClockOffsetOf(victim) - TimeSpan.FromMinutes(2));
                cluster.Nodes[victim].Start();
                Assert.True(simulation.RunUntil(cluster.IsSettled, TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100)));
            }
            var coordinator = random.Next(3);
            last = $"v{step}";
            // ALL: every node (all are replicas at RF 3) has merged this write's timestamp before the next one.
            var timestamp = SimulationAwait.Result(simulation,
                cluster.Software(coordinator)!.Coordinator.WriteAsync(B("register"), MutationKind.Value, B(last), 0, ConsistencyLevel.All));
            Assert.True(timestamp > previous, $"step {step}: n{coordinator} (clock offset {cluster.ClockOffsetOf(coordinator)}) issued {timestamp} after {previous} was written");
            Assert.True(issued[coordinator].Count == 0 || timestamp > issued[coordinator][^1], $"n{coordinator} went backwards at step {step}");
            issued[coordinator].Add(timestamp);
            previous = timestamp;
            simulation.RunFor(TimeSpan.FromMilliseconds(random.Next(1, 500)));
        }

        for (var reader = 0; reader < 3; reader++)
        {
            var cell = SimulationAwait.Result(simulation, cluster.Software(reader)!.Coordinator.ReadAsync(B("register"), ConsistencyLevel.Quorum));
            Assert.Equal(last, Encoding.UTF8.GetString(cell.Value.Span));
        }
        // The slow node's timestamps left its own wall clock behind: they follow the fastest clock it heard from.
        var slow = cluster.Software(1)!.Clock.Last;
        var slowWallMs = simulation.Clock.GetUtcNow().Add(cluster.ClockOffsetOf(1)).ToUnixTimeMilliseconds();
        Assert.True(HybridLogicalClock.PhysicalOf(slow) > slowWallMs, "node 1 should be running ahead of its own slow wall clock");
        Assert.True(cluster.HighWaterMarkOf(0).Stores > 0, "node 0 should have persisted its high-water mark");
        return 0;
    });
}
