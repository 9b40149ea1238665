using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>Settings of a <see cref="Gossiper"/>.</summary>
public sealed class GossipOptions
{
    /// <summary>Nodes only gossip with nodes of the same cluster name (protects against mis-pointed seeds).</summary>
    public string ClusterName { get; init; } = "kvstore";

    /// <summary>Time between gossip rounds.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Seed nodes: contacted to join, and now and then afterwards so partitions of the membership heal.</summary>
    public IReadOnlyList<NodeAddress> Seeds { get; init; } = [];

    /// <summary>How long a LEFT/REMOVED node stays visible before it is forgotten, and then how long its old state is ignored.</summary>
    public TimeSpan QuarantineDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Where decoded host names and state values are interned. Null: the gossiper makes its own. Share one
    /// between gossipers of one process (the simulator) to keep each distinct string once.
    /// </summary>
    public GossipStringTable? Strings { get; init; }

    /// <summary>A node down (and silent) for this long is forgotten even without LEFT/REMOVED.</summary>
    public TimeSpan DeadEndpointExpiry { get; init; } = TimeSpan.FromDays(3);
}
