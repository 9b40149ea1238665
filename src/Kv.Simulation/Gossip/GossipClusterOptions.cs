using Kv.Gossip.FailureDetection;

namespace Kv.Simulation.Gossip;

/// <summary>Shape of a <see cref="SimulatedGossipCluster"/>.</summary>
public sealed class GossipClusterOptions
{
    public int Nodes { get; init; } = 10;

    /// <summary>The first this-many nodes are seeds.</summary>
    public int Seeds { get; init; } = 3;

    public int NumTokens { get; init; } = 16;

    /// <summary>Node i is in rack i % Racks (and datacenter (i / Racks) % Datacenters).</summary>
    public int Racks { get; init; } = 3;

    public int Datacenters { get; init; } = 1;

    public TimeSpan GossipInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan QuarantineDelay { get; init; } = TimeSpan.FromSeconds(60);

    public PhiAccrualOptions FailureDetector { get; init; } = new();

    /// <summary>Link behaviour between all nodes.</summary>
    public LinkProfile Link { get; init; } = LinkProfile.Lan;

    /// <summary>Record membership events (join/up/down/restart/remove, per observer) in the trace.</summary>
    public bool TraceMembership { get; init; } = true;

    /// <summary>Give nodes balanced tokens with <see cref="Kv.Gossip.Ring.TokenAllocator"/> (else random ones).</summary>
    public bool AllocateTokens { get; init; } = true;
}
