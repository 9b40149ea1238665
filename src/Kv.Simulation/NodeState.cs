namespace Kv.Simulation;

/// <summary>Lifecycle of a <see cref="SimulatedNode"/>.</summary>
public enum NodeState
{
    /// <summary>Processing its timers and messages.</summary>
    Running,

    /// <summary>Frozen (a long GC pause, SIGSTOP): its timers and incoming messages wait until it resumes.</summary>
    Paused,

    /// <summary>Dead: its pending timers and in-flight incoming messages are lost; state survives only on its disk.</summary>
    Crashed,
}
