namespace Kv.Gossip.Ring;

/// <summary>
/// The nodes a coordinator talks to for one token: the natural replicas, then fallback nodes for
/// hinted (sloppy-quorum) writes when replicas are down.
/// </summary>
/// <remarks>
/// Layout written into the caller's span: <c>[natural replicas (all of them, up or not) | fallbacks]</c>.
/// Fallbacks are the next distinct endpoints clockwise after the range that are not natural replicas and
/// that <see cref="IEndpointLiveness"/> says are up, as many as requested (fewer if the ring runs out).
/// Allocation-free; stateless; thread-safe.
/// </remarks>
public static class PreferenceList
{
    /// <summary>Fills <paramref name="destination"/>; returns the total written; <paramref name="naturalCount"/> of them are natural replicas.</summary>
    public static int Fill(ReplicaPlacement placement, ulong token, int fallbacks, IEndpointLiveness? liveness, Span<int> destination, out int naturalCount)
    {
        var ring = placement.Ring;
        var tokenIndex = ring.TokenIndexFor(token);
        var natural = placement.ReplicasOfRange(tokenIndex);
        natural.CopyTo(destination);
        naturalCount = natural.Length;
        var count = natural.Length;
        var wanted = Math.Min(count + fallbacks, destination.Length);
        var owners = ring.TokenOwners;
        var endpoints = ring.Endpoints;
        for (var step = 0; step < owners.Length && count < wanted; step++)
        {
            var e = owners[(tokenIndex + step) % owners.Length];
            if (destination[..count].IndexOf(e) >= 0) continue;
            if (liveness is not null && !liveness.IsAlive(endpoints[e])) continue;
            destination[count++] = e;
        }
        return count;
    }
}
