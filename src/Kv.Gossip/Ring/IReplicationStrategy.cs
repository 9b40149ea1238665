namespace Kv.Gossip.Ring;

/// <summary>Decides which endpoints hold the replicas of a token range.</summary>
/// <remarks>Implementations are immutable and thread-safe. They are called when a
/// <see cref="ReplicaPlacement"/> is built, not per request.</remarks>
public interface IReplicationStrategy
{
    /// <summary>
    /// The replicas every range should have (summed over datacenters), whatever the ring looks like now. Consistency
    /// levels count against this, not against the replicas a small or forming ring can provide, so QUORUM stays a
    /// majority of the replication factor (as in Cassandra).
    /// </summary>
    int ReplicationFactor { get; }

    /// <summary>The most replicas any range can have on <paramref name="ring"/>.</summary>
    int MaxReplicas(TokenRing ring);

    /// <summary>
    /// Writes the endpoint indices of the natural replicas of the range ending at token
    /// <paramref name="tokenIndex"/> into <paramref name="destination"/> (at least <see cref="MaxReplicas"/>
    /// long), first replica first; returns how many were written.
    /// </summary>
    int CalculateNaturalReplicas(TokenRing ring, int tokenIndex, Span<int> destination);
}
