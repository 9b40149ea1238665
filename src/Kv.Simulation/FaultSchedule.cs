namespace Kv.Simulation;

/// <summary>
/// A list of timed fault actions (crash, restart, pause, resume, partition, heal, link changes, or any
/// custom action) installed into a <see cref="Simulation"/>. Build one by hand for a scenario, or draw one
/// from a seed with <see cref="Random"/> to explore many.
/// </summary>
/// <remarks>Not thread-safe; build it, then <see cref="Install"/> it once.</remarks>
public sealed class FaultSchedule
{
    private readonly List<(TimeSpan At, string Description, Action Action)> _actions = [];

    public IReadOnlyList<(TimeSpan At, string Description, Action Action)> Actions => _actions;

    public FaultSchedule At(TimeSpan at, string description, Action action)
    {
        _actions.Add((at, description, action));
        return this;
    }

    public FaultSchedule Crash(TimeSpan at, SimulatedNode node) => At(at, $"crash {node.Name}", node.Crash);

    public FaultSchedule Restart(TimeSpan at, SimulatedNode node) => At(at, $"restart {node.Name}", () =>
    {
        if (node.State == NodeState.Crashed) node.Start();
        else node.Restart();
    });

    public FaultSchedule Pause(TimeSpan at, SimulatedNode node, TimeSpan duration) =>
        At(at, $"pause {node.Name}", node.Pause).At(at + duration, $"resume {node.Name}", node.Resume);

    public FaultSchedule Partition(TimeSpan at, SimulatedNetwork network, IReadOnlyList<SimulatedNode> sideA, IReadOnlyList<SimulatedNode> sideB) =>
        At(at, $"partition [{string.Join(',', sideA.Select(n => n.Name))}] | [{string.Join(',', sideB.Select(n => n.Name))}]",
            () => network.Partition(sideA, sideB));

    public FaultSchedule Heal(TimeSpan at, SimulatedNetwork network) => At(at, "heal", network.Heal);

    /// <summary>Schedules every action relative to the simulation's current time; each is traced when it runs.</summary>
    public void Install(Simulation simulation)
    {
        for (var i = 0; i < _actions.Count; i++)
        {
            var (at, description, action) = _actions[i];
            var index = i;
            simulation.Schedule(at, () =>
            {
                simulation.Trace.Record(TraceKind.Fault, index, 0, 0);
                action();
            });
        }
    }

    /// <summary>
    /// A random schedule over <paramref name="duration"/>: <paramref name="faults"/> faults, each a crash (restarted
    /// later), a pause, or a partition of a random minority (healed later). Every fault ends by <paramref name="duration"/>,
    /// so a run can check that the cluster recovers after it.
    /// </summary>
    public static FaultSchedule Random(Random random, SimulatedNetwork network, IReadOnlyList<SimulatedNode> nodes, TimeSpan duration, int faults)
    {
        var schedule = new FaultSchedule();
        for (var i = 0; i < faults; i++)
        {
            var start = TimeSpan.FromTicks((long)(random.NextDouble() * duration.Ticks * 0.7));
            var length = TimeSpan.FromTicks((long)(random.NextDouble() * (duration - start).Ticks * 0.9) + 1);
            var node = nodes[random.Next(nodes.Count)];
            switch (random.Next(3))
            {
                case 0:
                    schedule.Crash(start, node).Restart(start + length, node);
                    break;
                case 1:
                    schedule.Pause(start, node, length);
                    break;
                default:
                    var minority = new List<SimulatedNode>();
                    var size = 1 + random.Next(Math.Max(1, (nodes.Count - 1) / 2));
                    while (minority.Count < size)
                    {
                        var n = nodes[random.Next(nodes.Count)];
                        if (!minority.Contains(n)) minority.Add(n);
                    }
                    var rest = nodes.Where(n => !minority.Contains(n)).ToList();
                    schedule.Partition(start, network, minority, rest).Heal(start + length, network);
                    break;
            }
        }
        return schedule;
    }

    public override string ToString() => string.Join("; ", _actions.Select(a => $"{a.At.TotalSeconds:0.###}s {a.Description}"));
}
