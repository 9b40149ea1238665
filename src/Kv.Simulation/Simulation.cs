namespace Kv.Simulation;

/// <summary>
/// A deterministic discrete-event simulation: a virtual clock, one seeded random source, and a queue of
/// events ordered by (virtual time, sequence number). The same seed and the same program give the same run,
/// event for event, which <see cref="Trace"/> proves with a hash.
/// </summary>
/// <remarks>
/// Threading: single-threaded. Everything (timers, message deliveries, fault actions) runs on the thread that
/// calls <see cref="Step"/>/<see cref="RunFor"/>; nothing may be scheduled from other threads, and code under
/// simulation must not use real time, Task.Delay, or thread-pool continuations.
/// Events can belong to a <see cref="SimulatedNode"/>: they are dropped when that node crashed (or restarted)
/// after they were scheduled, and held back while it is paused.
/// </remarks>
public sealed class Simulation
{
    private readonly PriorityQueue<ScheduledEvent, (long Time, long Sequence)> _queue = new();
    private readonly List<SimulatedNode> _nodes = [];
    private long _sequence;

    public Simulation(int seed, DateTimeOffset? epoch = null)
    {
        Seed = seed;
        Random = new Random(seed);
        Epoch = epoch ?? new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Clock = new SimulationClock(this, null);
        Trace = new SimulationTrace(this);
    }

    public int Seed { get; }

    /// <summary>The run's random source. Draw from it only on the simulation thread, in a deterministic order.</summary>
    public Random Random { get; }

    /// <summary>Wall-clock time at virtual time zero.</summary>
    public DateTimeOffset Epoch { get; }

    /// <summary>Virtual time elapsed since the start, in ticks (100 ns).</summary>
    public long NowTicks { get; private set; }

    public TimeSpan Now => TimeSpan.FromTicks(NowTicks);

    /// <summary>A clock not tied to any node (for the harness and fault schedules).</summary>
    public TimeProvider Clock { get; }

    public SimulationTrace Trace { get; }

    public IReadOnlyList<SimulatedNode> Nodes => _nodes;

    /// <summary>Events executed so far.</summary>
    public long EventsExecuted { get; private set; }

    public int PendingEvents => _queue.Count;

    /// <summary>Adds a node. <paramref name="start"/> builds the node's software; it runs now and at every restart.</summary>
    public SimulatedNode AddNode(string name, Func<SimulatedNode, object> start)
    {
        var node = new SimulatedNode(this, _nodes.Count, name, start);
        _nodes.Add(node);
        return node;
    }

    /// <summary>A random source for a component, derived from the run's seed so it is reproducible and independent.</summary>
    public Random CreateRandom() => new(Random.Next());

    /// <summary>Runs <paramref name="action"/> after <paramref name="delay"/> of virtual time, on behalf of <paramref name="owner"/> (null: the harness).</summary>
    public void Schedule(TimeSpan delay, Action action, SimulatedNode? owner = null) =>
        ScheduleAt(NowTicks + Math.Max(0, delay.Ticks), action, owner);

    public void ScheduleAt(long timeTicks, Action action, SimulatedNode? owner = null)
    {
        ArgumentNullException.ThrowIfNull(action);
        var time = Math.Max(timeTicks, NowTicks);
        _queue.Enqueue(new ScheduledEvent(action, owner, owner?.Incarnation ?? 0), (time, _sequence++));
    }

    /// <summary>Runs the next event; false when there is none.</summary>
    public bool Step()
    {
        if (!_queue.TryDequeue(out var ev, out var key)) return false;
        NowTicks = key.Time;
        var owner = ev.Owner;
        if (owner is not null)
        {
            if (owner.Incarnation != ev.Incarnation || owner.State == NodeState.Crashed) return true; // its node died since
            if (owner.State == NodeState.Paused)
            {
                owner.Defer(ev.Action);
                return true;
            }
        }
        EventsExecuted++;
        ev.Action();
        return true;
    }

    /// <summary>Runs every event up to and including virtual time now + <paramref name="duration"/>, then sets the clock there.</summary>
    public void RunFor(TimeSpan duration) => RunUntilTime(NowTicks + duration.Ticks);

    public void RunUntilTime(long timeTicks)
    {
        while (_queue.TryPeek(out _, out var key) && key.Time <= timeTicks) Step();
        if (timeTicks > NowTicks) NowTicks = timeTicks;
    }

    /// <summary>
    /// Runs until <paramref name="condition"/> holds (checked after each event) or <paramref name="limit"/> of
    /// virtual time passes; returns whether the condition held.
    /// </summary>
    public bool RunUntil(Func<bool> condition, TimeSpan limit)
    {
        var end = NowTicks + limit.Ticks;
        if (condition()) return true;
        while (_queue.TryPeek(out _, out var key) && key.Time <= end)
        {
            Step();
            if (condition()) return true;
        }
        if (end > NowTicks) NowTicks = end;
        return condition();
    }

    /// <summary>Runs until <paramref name="condition"/> holds, checking only every <paramref name="checkEvery"/> of virtual time (cheaper for costly checks).</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan limit, TimeSpan checkEvery)
    {
        var end = NowTicks + limit.Ticks;
        while (!condition())
        {
            if (NowTicks >= end) return false;
            RunUntilTime(Math.Min(end, NowTicks + checkEvery.Ticks));
        }
        return true;
    }

    internal void Requeue(SimulatedNode owner, Action action) => ScheduleAt(NowTicks, action, owner);

    private readonly record struct ScheduledEvent(Action Action, SimulatedNode? Owner, int Incarnation);
}
