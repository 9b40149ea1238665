namespace Kv.Simulation;

/// <summary>
/// One virtual machine of a <see cref="Simulation"/>: a lifecycle (run, pause, crash, restart), a clock whose
/// timers only fire while the node runs, and the software built by its start function.
/// </summary>
/// <remarks>
/// Threading: simulation thread only. A crash is abrupt: nothing of the running software is told; its pending
/// timers and undelivered incoming messages are dropped (their incarnation no longer matches). A restart calls
/// the start function again, at a later virtual time, so a gossiper started there gets a new generation.
/// <see cref="Items"/> keeps things that survive crashes (a simulated disk, for instance).
/// </remarks>
public sealed class SimulatedNode
{
    private readonly Func<SimulatedNode, object> _start;
    private readonly List<Action> _deferred = [];

    internal SimulatedNode(Simulation simulation, int id, string name, Func<SimulatedNode, object> start)
    {
        Simulation = simulation;
        Id = id;
        Name = name;
        _start = start;
        Clock = new SimulationClock(simulation, this);
        Random = simulation.CreateRandom();
        State = NodeState.Crashed;
    }

    public Simulation Simulation { get; }

    public int Id { get; }

    public string Name { get; }

    public NodeState State { get; private set; }

    /// <summary>Bumped by every crash; events scheduled by an earlier incarnation never run.</summary>
    public int Incarnation { get; private set; }

    /// <summary>This node's clock: its timers belong to the node.</summary>
    public TimeProvider Clock { get; }

    /// <summary>This node's random source, derived from the run's seed.</summary>
    public Random Random { get; }

    /// <summary>What the start function returned for the current incarnation (null while crashed).</summary>
    public object? Software { get; private set; }

    /// <summary>State that survives crashes and restarts (a simulated disk, a hint store). Keyed by the owner's choice.</summary>
    public Dictionary<string, object> Items { get; } = [];

    public T SoftwareAs<T>() where T : class =>
        Software as T ?? throw new InvalidOperationException($"Node {Name} is {State} and has no running software of type {typeof(T).Name}.");

    /// <summary>Starts the node's software (first start or restart after a crash).</summary>
    public void Start()
    {
        if (State != NodeState.Crashed) throw new InvalidOperationException($"Node {Name} is already {State}.");
        State = NodeState.Running;
        Simulation.Trace.Record(TraceKind.NodeStart, Id, Incarnation, 0);
        Software = _start(this);
    }

    public void Crash()
    {
        if (State == NodeState.Crashed) return;
        State = NodeState.Crashed;
        Incarnation++;
        Software = null;
        _deferred.Clear();
        Simulation.Trace.Record(TraceKind.NodeCrash, Id, Incarnation, 0);
    }

    public void Restart()
    {
        Crash();
        Start();
    }

    public void Pause()
    {
        if (State != NodeState.Running) return;
        State = NodeState.Paused;
        Simulation.Trace.Record(TraceKind.NodePause, Id, Incarnation, 0);
    }

    public void Resume()
    {
        if (State != NodeState.Paused) return;
        State = NodeState.Running;
        Simulation.Trace.Record(TraceKind.NodeResume, Id, Incarnation, 0);
        foreach (var action in _deferred) Simulation.Requeue(this, action);
        _deferred.Clear();
    }

    internal void Defer(Action action) => _deferred.Add(action);

    public override string ToString() => $"{Name}({State})";
}
