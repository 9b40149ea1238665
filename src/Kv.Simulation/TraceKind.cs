namespace Kv.Simulation;

/// <summary>Kinds of records in a <see cref="SimulationTrace"/>. Values are hashed: append only.</summary>
public enum TraceKind : byte
{
    NodeStart = 1,
    NodeCrash = 2,
    NodePause = 3,
    NodeResume = 4,
    MessageSent = 5,
    MessageDelivered = 6,
    MessageDropped = 7,
    Partition = 8,
    Heal = 9,
    Fault = 10,

    /// <summary>A free-form note from the software under test (membership events, client operations).</summary>
    Note = 11,
}
