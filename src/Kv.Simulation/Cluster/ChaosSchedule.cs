namespace Kv.Simulation.Cluster;

/// <summary>
/// A seeded fault schedule for a <see cref="SimulatedKvCluster"/>: crashes (restarted later, keeping the node's
/// disk), pauses, partitions of a random minority (healed later) and slow, lossy links around one node (restored
/// later). Every fault ends by the schedule's duration. Keeps the log of what ran and when each node crashed.
/// </summary>
/// <remarks>Threading: simulation thread only.</remarks>
public sealed class ChaosSchedule
{
    /// <summary>A slow, lossy link: 20 ms plus a heavy tail (mean 150 ms, capped at 1.5 s), 5% loss.</summary>
    public static LinkProfile Degraded { get; } = new()
    {
        BaseLatency = TimeSpan.FromMilliseconds(20),
        MeanJitter = TimeSpan.FromMilliseconds(150),
        MaxLatency = TimeSpan.FromMilliseconds(1500),
        DropProbability = 0.05,
    };

    private readonly SimulatedKvCluster _cluster;
    private readonly List<string> _log = [];
    private readonly List<(long AtTicks, int Node)> _crashes = [];

    private ChaosSchedule(SimulatedKvCluster cluster, FaultSchedule faults, TimeSpan longestPause)
    {
        _cluster = cluster;
        Faults = faults;
        LongestPause = longestPause;
    }

    public FaultSchedule Faults { get; }

    /// <summary>The longest pause in the schedule: a paused coordinator's pending sends resolve at most this much later.</summary>
    public TimeSpan LongestPause { get; }

    /// <summary>What ran, in order, with virtual times.</summary>
    public IReadOnlyList<string> Log => _log;

    /// <summary>Every crash that happened: (virtual time in ticks, node id).</summary>
    public IReadOnlyList<(long AtTicks, int Node)> Crashes => _crashes;

    /// <summary>Draws <paramref name="faults"/> faults over <paramref name="duration"/> from <paramref name="random"/>.</summary>
    public static ChaosSchedule Random(SimulatedKvCluster cluster, Random random, TimeSpan duration, int faults)
    {
        var schedule = new FaultSchedule();
        var longestPause = TimeSpan.Zero;
        ChaosSchedule? chaos = null;
        var nodes = cluster.Nodes;
        for (var i = 0; i < faults; i++)
        {
            var start = TimeSpan.FromTicks((long)(random.NextDouble() * duration.Ticks * 0.8));
            var length = TimeSpan.FromTicks(Math.Min((duration - start).Ticks, (long)((0.5 + random.NextDouble() * 14.5) * TimeSpan.TicksPerSecond)));
            var node = nodes[random.Next(nodes.Count)];
            switch (random.Next(4))
            {
                case 0:
                    schedule.At(start, $"crash {node.Name}", () => chaos!.Crash(node));
                    schedule.At(start + length, $"restart {node.Name}", () =>
                    {
                        if (node.State == NodeState.Crashed) node.Start();
                    });
                    break;
                case 1:
                    if (length > longestPause) longestPause = length;
                    schedule.Pause(start, node, length);
                    break;
                case 2:
                    var minority = new List<SimulatedNode>();
                    var size = 1 + random.Next(Math.Max(1, (nodes.Count - 1) / 2));
                    while (minority.Count < size)
                    {
                        var n = nodes[random.Next(nodes.Count)];
                        if (!minority.Contains(n)) minority.Add(n);
                    }
                    var rest = new List<SimulatedNode>();
                    foreach (var n in nodes) if (!minority.Contains(n)) rest.Add(n);
                    schedule.Partition(start, cluster.Network, minority, rest).Heal(start + length, cluster.Network);
                    break;
                default:
                    schedule.At(start, $"degrade links of {node.Name}", () => SetLinks(cluster, node, Degraded));
                    schedule.At(start + length, $"restore links of {node.Name}", () => SetLinks(cluster, node, cluster.Options.Link));
                    break;
            }
        }
        chaos = new ChaosSchedule(cluster, schedule, longestPause);
        return chaos;
    }

    /// <summary>Schedules every fault relative to now; each is logged when it runs.</summary>
    public void Install()
    {
        var simulation = _cluster.Simulation;
        foreach (var (at, description, action) in Faults.Actions)
        {
            simulation.Schedule(at, () =>
            {
                _log.Add($"{simulation.Now.TotalSeconds:0.000}s {description}");
                action();
            });
        }
    }

    /// <summary>Ends every fault: heals the network, restores links, resumes paused nodes and starts crashed ones.</summary>
    public void HealAll()
    {
        var simulation = _cluster.Simulation;
        _log.Add($"{simulation.Now.TotalSeconds:0.000}s heal everything");
        _cluster.Network.Heal();
        foreach (var node in _cluster.Nodes)
        {
            SetLinks(_cluster, node, _cluster.Options.Link);
            if (node.State == NodeState.Paused) node.Resume();
            else if (node.State == NodeState.Crashed) node.Start();
        }
    }

    private void Crash(SimulatedNode node)
    {
        if (node.State == NodeState.Crashed) return;
        _crashes.Add((_cluster.Simulation.NowTicks, node.Id));
        node.Crash();
    }

    private static void SetLinks(SimulatedKvCluster cluster, SimulatedNode node, LinkProfile profile)
    {
        foreach (var other in cluster.Nodes)
            if (other != node) cluster.Network.SetLinkBothWays(node, other, profile);
    }

    public override string ToString() => Faults.ToString();
}
