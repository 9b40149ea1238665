using Kv.Node.Cluster.Coordination;

namespace Kv.Simulation.Cluster;

/// <summary>Settings of one <see cref="QuorumChaosRun"/>. Plain values.</summary>
public sealed class QuorumChaosOptions
{
    public int Seed { get; init; }

    public KvClusterOptions Cluster { get; init; } = new();

    /// <summary>How long faults are injected and writes are sent.</summary>
    public TimeSpan FaultDuration { get; init; } = TimeSpan.FromSeconds(40);

    public int Faults { get; init; } = 8;

    /// <summary>One client write per this much virtual time.</summary>
    public TimeSpan WriteInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    public ConsistencyLevel WriteLevel { get; init; } = ConsistencyLevel.Quorum;

    /// <summary>A client request slot pipelines 1 to this many writes into its coordinator at once, started inside one
    /// I/O event as a node's socket thread starts them, so the coordinator's replica batches (first write at once, the
    /// rest per replica in one batch when the event ends) run under the fault schedule too. The read-back at the end
    /// reads in groups of this many per event as well.</summary>
    public int MaxPipeline { get; init; } = 3;

    /// <summary>How long, after healing, the cluster may take to settle and deliver its hints.</summary>
    public TimeSpan SettleLimit { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Per-node wall-clock offsets (node i gets element i; missing ones are zero).</summary>
    public IReadOnlyList<TimeSpan>? ClockOffsets { get; init; }

    /// <summary>The test-name filter that reruns this run's test, for the replay command of a failure report.</summary>
    public string ReplayFilter { get; init; } = "FullyQualifiedName~QuorumChaos";

    /// <summary>Trace lines to keep for a failure report (0 = none; formatting them costs time).</summary>
    public int TraceLines { get; init; }
}
