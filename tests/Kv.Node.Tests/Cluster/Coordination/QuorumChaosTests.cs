using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Replica;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster.Coordination;

/// <summary>
/// A seeded workload writing unique keys at QUORUM through random coordinators while nodes crash and
/// restart (their software restarts from the hint files; replica data is kept, as a durable store would)
/// and links are cut and healed. After healing and hint delivery: every acknowledged write is readable
/// at QUORUM, and every replica of every key attempted holds the same newest version.
/// Default suite: a few seeds; KV_SOAK=1 runs 200.
/// </summary>
public sealed class QuorumChaosTests
{
    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        var count = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? 200 : 3;
        for (var i = 1; i <= count; i++) data.Add(i);
        return data;
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task QuorumWorkload_CrashesAndPartitions_NoAcknowledgedWriteLostAndReplicasConverge(int seed)
    {
        var network = new FaultyNetwork { Seed = seed };
        var options = new CoordinatorOptions { WriteTimeout = TimeSpan.FromMilliseconds(150), ReadTimeout = TimeSpan.FromMilliseconds(300) };
        await using var cluster = await TestCluster.StartAsync(nodes: 5, transports: (i, _) => network.Attach(i), options: options);
        var random = new Random(seed);
        var acked = new Dictionary<string, string>();
        var attempted = new List<string>();
        var log = new List<string>();

        for (var step = 0; step < 80; step++)
        {
            if (random.NextDouble() < 0.15)
            {
                var running = cluster.Nodes.Where(n => n.IsRunning).ToList();
                var stopped = cluster.Nodes.Where(n => !n.IsRunning).ToList();
                switch (random.Next(4))
                {
                    case 0 when stopped.Count < 2:
                        var victim = running[random.Next(running.Count)];
                        log.Add($"{step}: crash n{victim.Index}");
                        await cluster.StopAsync(victim);
                        break;
                    case 1 when stopped.Count > 0:
                        var back = stopped[random.Next(stopped.Count)];
                        log.Add($"{step}: restart n{back.Index}");
                        cluster.Restart(back);
                        foreach (var n in cluster.Nodes.Where(n => n.IsRunning)) n.Handoff!.ReplayAllAlive();
                        break;
                    case 2:
                        var a = cluster.Nodes[random.Next(5)];
                        var b = cluster.Nodes[random.Next(5)];
                        log.Add($"{step}: cut n{a.Index}-n{b.Index}");
                        network.Cut(a.Address, b.Address);
                        break;
                    default:
                        log.Add($"{step}: heal");
                        network.HealAll();
                        break;
                }
            }
            var alive = cluster.Nodes.Where(n => n.IsRunning).ToList();
            var coordinator = alive[random.Next(alive.Count)];
            var key = $"s{seed}-k{step}";
            var value = $"v{step}-{random.Next()}";
            attempted.Add(key);
            try
            {
                await coordinator.Coordinator.WriteAsync(B(key), MutationKind.Value, B(value), 0, ConsistencyLevel.Quorum);
                acked[key] = value;
            }
            catch (ClusterRequestException)
            {
            }
        }

        // Writes already answered may still have a replica send in flight that will end as a hint.
        while (cluster.Nodes.Any(n => n.Coordinator.PendingReplicaWrites > 0)) await Task.Delay(10);
        network.HealAll();
        foreach (var n in cluster.Nodes.Where(n => !n.IsRunning).ToList()) cluster.Restart(n);
        for (var round = 0; round < 5; round++)
        {
            foreach (var n in cluster.Nodes)
                foreach (var target in n.Handoff!.Store.Targets())
                    await n.Handoff.ReplayAsync(target);
            if (cluster.Nodes.All(n => n.Handoff!.Store.Targets().All(t => n.Handoff.Store.PendingBytes(t) == 0))) break;
        }

        var context = $"seed {seed}, acked {acked.Count}/{attempted.Count}, faults: {string.Join("; ", log)}";
        Assert.True(acked.Count > 0, context);
        foreach (var (key, value) in acked)
        {
            var reader = cluster.Nodes[random.Next(5)];
            var cell = await reader.Coordinator.ReadAsync(B(key), ConsistencyLevel.Quorum);
            Assert.True(cell.Outcome == ReadOutcome.Found && Encoding.UTF8.GetString(cell.Value.Span) == value, $"{key} lost: {context}");
        }
        foreach (var key in attempted)
        {
            var storageKey = Coordinator.StorageKeyOf(B(key));
            var digests = cluster.Nodes[0].Coordinator.ReplicasOf(storageKey)
                .Select(r => cluster.Nodes.Single(n => n.Address == r).Store.ReadAsync(storageKey).AsTask().Result)
                .Select(c => (c.Outcome, c.Digest)).Distinct().ToList();
            // An unacknowledged write may be nowhere (refused as unavailable before any send), but never on only some replicas.
            Assert.True(digests.Count == 1 && (digests[0].Outcome == ReadOutcome.Found || !acked.ContainsKey(key)), $"{key} replicas diverge ({string.Join(",", digests)}) on {string.Join(",", cluster.Nodes[0].Coordinator.ReplicasOf(storageKey))}; hints stored/delivered {string.Join(" ", cluster.Nodes.Select(n => n.Handoff!.HintsStored + "/" + n.Handoff.HintsDelivered))}: {context}");
        }
    }
}
