namespace Kv.Gossip.Ring;

/// <summary>
/// The owner of the range, then the next distinct endpoints clockwise until there are
/// <see cref="ReplicationFactor"/> of them (fewer when the ring has fewer endpoints). Ignores racks and datacenters.
/// </summary>
public sealed class SimpleStrategy : IReplicationStrategy
{
    public SimpleStrategy(int replicationFactor)
    {
        if (replicationFactor < 1)
            throw new ArgumentOutOfRangeException(nameof(replicationFactor), replicationFactor, "The replication factor must be at least 1.");
        ReplicationFactor = replicationFactor;
    }

    public int ReplicationFactor { get; }

    public int MaxReplicas(TokenRing ring) => Math.Min(ReplicationFactor, ring.EndpointCount);

    public int CalculateNaturalReplicas(TokenRing ring, int tokenIndex, Span<int> destination)
    {
        var want = MaxReplicas(ring);
        var owners = ring.TokenOwners;
        var count = 0;
        for (var step = 0; step < owners.Length && count < want; step++)
        {
            var owner = owners[(tokenIndex + step) % owners.Length];
            if (destination[..count].IndexOf(owner) < 0) destination[count++] = owner;
        }
        return count;
    }

    public override string ToString() => $"SimpleStrategy(rf={ReplicationFactor})";
}
