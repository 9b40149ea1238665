namespace Kv.Simulation.Cluster;

/// <summary>What happened to one client write of a <see cref="QuorumChaosRun"/>.</summary>
public enum WriteOutcome
{
    /// <summary>No answer (its coordinator crashed, or the run ended first).</summary>
    Pending,

    /// <summary>Acknowledged at the requested level: it must never be lost.</summary>
    Acknowledged,

    /// <summary>Refused or timed out with a clear error: it may or may not have been applied.</summary>
    Failed,
}

/// <summary>One client write: a unique key through one coordinator (node id and incarnation) at a virtual time.</summary>
/// <remarks>Threading: simulation thread only.</remarks>
public sealed class WriteAttempt(int index, string key, string value, int coordinator, int incarnation, long startTicks)
{
    public int Index { get; } = index;

    public string Key { get; } = key;

    public string Value { get; } = value;

    public int Coordinator { get; } = coordinator;

    public int Incarnation { get; } = incarnation;

    public long StartTicks { get; } = startTicks;

    public WriteOutcome Outcome { get; internal set; }

    /// <summary>The HLC timestamp the coordinator gave it (acknowledged writes only).</summary>
    public long Timestamp { get; internal set; }

    public string? Error { get; internal set; }

    /// <summary>
    /// Its coordinator crashed before every replica's send had an outcome (ack, hint or failure), so a replica may
    /// have missed it with no hint stored: only read repair (or anti-entropy) can bring that replica up to date.
    /// </summary>
    public bool Orphaned { get; internal set; }

    public override string ToString() => $"{Key} via n{Coordinator}#{Incarnation} at {TimeSpan.FromTicks(StartTicks).TotalSeconds:0.000}s: {Outcome}{(Orphaned ? " (orphaned)" : "")}{(Error is null ? "" : " " + Error)}";
}
