namespace Kv.Gossip.Ring;

/// <summary>
/// Rack- and datacenter-aware placement: a replica count per datacenter, and within each datacenter the
/// replicas go on distinct racks first.
/// </summary>
/// <remarks>
/// For each datacenter, walk the ring clockwise from the range: take an endpoint of that datacenter when its
/// rack has no replica yet; remember endpoints on already-used racks in the order met. Once every rack of the
/// datacenter has a replica (or the walk is over), fill the remaining replicas from those remembered
/// endpoints. So racks are spread as widely as they can be, and the choice is still a deterministic function
/// of the ring. Output order: datacenters in the ring's datacenter order, each in walk order.
/// </remarks>
public sealed class NetworkTopologyStrategy : IReplicationStrategy
{
    private readonly KeyValuePair<string, int>[] _perDatacenter;

    public NetworkTopologyStrategy(IReadOnlyDictionary<string, int> replicasPerDatacenter)
    {
        var list = new List<KeyValuePair<string, int>>();
        foreach (var kv in replicasPerDatacenter)
        {
            if (kv.Value < 0)
                throw new ArgumentOutOfRangeException(nameof(replicasPerDatacenter), kv.Value, $"Datacenter '{kv.Key}' has a negative replica count.");
            if (kv.Value > 0) list.Add(kv);
        }
        if (list.Count == 0)
            throw new ArgumentException("At least one datacenter needs a replica count of 1 or more.", nameof(replicasPerDatacenter));
        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        _perDatacenter = [.. list];
        foreach (var kv in _perDatacenter) ReplicationFactor += kv.Value;
    }

    /// <summary>The sum of the per-datacenter replica counts.</summary>
    public int ReplicationFactor { get; }

    /// <summary>Replica count per datacenter name.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> ReplicasPerDatacenter => _perDatacenter;

    public int MaxReplicas(TokenRing ring)
    {
        var total = 0;
        foreach (var kv in _perDatacenter)
        {
            var dc = ring.DatacenterIndex(kv.Key);
            if (dc < 0) continue;
            total += Math.Min(kv.Value, EndpointsIn(ring, dc));
        }
        return total;
    }

    public int CalculateNaturalReplicas(TokenRing ring, int tokenIndex, Span<int> destination)
    {
        var owners = ring.TokenOwners;
        var count = 0;
        Span<int> skipped = ring.EndpointCount <= 256 ? stackalloc int[ring.EndpointCount] : new int[ring.EndpointCount];
        Span<bool> rackUsed = ring.RackCount <= 256 ? stackalloc bool[ring.RackCount] : new bool[ring.RackCount];
        for (var d = 0; d < ring.DatacenterCount; d++)
        {
            var want = WantedIn(ring, d);
            if (want == 0) continue;
            var racksInDc = RacksIn(ring, d);
            rackUsed.Clear();
            var start = count;
            var racksSeen = 0;
            var skippedCount = 0;
            for (var step = 0; step < owners.Length && count - start < want && racksSeen < racksInDc; step++)
            {
                var e = owners[(tokenIndex + step) % owners.Length];
                if (ring.DatacenterOf(e) != d || destination[start..count].IndexOf(e) >= 0) continue;
                var rack = ring.RackOf(e);
                if (!rackUsed[rack])
                {
                    rackUsed[rack] = true;
                    racksSeen++;
                    destination[count++] = e;
                }
                else if (skipped[..skippedCount].IndexOf(e) < 0)
                {
                    skipped[skippedCount++] = e;
                }
            }
            // Every rack is used (or the whole ring was walked): fill from same-rack endpoints, in walk order,
            // continuing the walk for endpoints not met yet.
            for (var i = 0; i < skippedCount && count - start < want; i++) destination[count++] = skipped[i];
            for (var step = 0; step < owners.Length && count - start < want; step++)
            {
                var e = owners[(tokenIndex + step) % owners.Length];
                if (ring.DatacenterOf(e) == d && destination[start..count].IndexOf(e) < 0) destination[count++] = e;
            }
        }
        return count;
    }

    private int WantedIn(TokenRing ring, int datacenter)
    {
        var name = ring.DatacenterName(datacenter);
        foreach (var kv in _perDatacenter)
            if (kv.Key == name) return Math.Min(kv.Value, EndpointsIn(ring, datacenter));
        return 0;
    }

    private static int EndpointsIn(TokenRing ring, int datacenter)
    {
        var n = 0;
        for (var e = 0; e < ring.EndpointCount; e++) if (ring.DatacenterOf(e) == datacenter) n++;
        return n;
    }

    private static int RacksIn(TokenRing ring, int datacenter)
    {
        Span<bool> seen = ring.RackCount <= 256 ? stackalloc bool[ring.RackCount] : new bool[ring.RackCount];
        var n = 0;
        for (var e = 0; e < ring.EndpointCount; e++)
        {
            if (ring.DatacenterOf(e) != datacenter || seen[ring.RackOf(e)]) continue;
            seen[ring.RackOf(e)] = true;
            n++;
        }
        return n;
    }

    public override string ToString()
    {
        var parts = new string[_perDatacenter.Length];
        for (var i = 0; i < parts.Length; i++) parts[i] = $"{_perDatacenter[i].Key}:{_perDatacenter[i].Value}";
        return $"NetworkTopologyStrategy({string.Join(',', parts)})";
    }
}
