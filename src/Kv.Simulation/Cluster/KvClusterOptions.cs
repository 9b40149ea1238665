using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Hints;

namespace Kv.Simulation.Cluster;

/// <summary>Shape of a <see cref="SimulatedKvCluster"/>. Plain values, read at construction.</summary>
public sealed class KvClusterOptions
{
    public int Nodes { get; init; } = 5;

    public int ReplicationFactor { get; init; } = 3;

    /// <summary>Gossip tokens per node (balanced by the token allocator).</summary>
    public int NumTokens { get; init; } = 8;

    public int Racks { get; init; } = 3;

    public TimeSpan GossipInterval { get; init; } = TimeSpan.FromSeconds(1);

    public LinkProfile Link { get; init; } = LinkProfile.Lan;

    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Hint replay check period (how soon hints move when an "up" event was missed).</summary>
    public TimeSpan HintCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan HintWindow { get; init; } = new HintedHandoffOptions().HintWindow;

    /// <summary>
    /// Sloppy quorum: a write for a replica that is down goes to a live fallback node, whose durable hint counts
    /// toward W (see <see cref="Kv.Node.Cluster.Coordination.CoordinatorOptions.SloppyQuorum"/>). Off by default, as in a real node.
    /// </summary>
    public bool SloppyQuorum { get; init; }

    /// <summary>Record membership events in the trace (they are part of the run either way; this only hashes them too).</summary>
    public bool TraceMembership { get; init; } = true;

    internal CoordinatorOptions CoordinatorOptions() => new()
    {
        WriteTimeout = WriteTimeout,
        ReadTimeout = ReadTimeout,
        SloppyQuorum = SloppyQuorum,
        RunContinuationsAsynchronously = false,
    };
}
