using Kv.Gossip.Transport;

namespace Kv.Gossip.Ring;

/// <summary>
/// The natural replicas of every range of one <see cref="TokenRing"/> under one <see cref="IReplicationStrategy"/>,
/// computed once so that a lookup is a binary search plus a slice: O(log n) and allocation-free.
/// </summary>
/// <remarks>
/// Threading: immutable after construction; share freely. Memory: TokenCount × MaxReplicas ints
/// (1000 nodes × 16 vnodes × RF 3 = 192 KB).
/// </remarks>
public sealed class ReplicaPlacement
{
    private readonly int[] _replicas;
    private readonly byte[] _counts;
    private readonly int _width;

    public ReplicaPlacement(TokenRing ring, IReplicationStrategy strategy)
    {
        Ring = ring;
        Strategy = strategy;
        _width = strategy.MaxReplicas(ring);
        if (_width > byte.MaxValue)
            throw new ArgumentException($"{strategy} asks for {_width} replicas; at most 255 are supported.", nameof(strategy));
        _replicas = new int[ring.TokenCount * _width];
        _counts = new byte[ring.TokenCount];
        for (var i = 0; i < ring.TokenCount; i++)
            _counts[i] = (byte)strategy.CalculateNaturalReplicas(ring, i, _replicas.AsSpan(i * _width, _width));
    }

    public TokenRing Ring { get; }

    public IReplicationStrategy Strategy { get; }

    /// <summary>The largest number of replicas of any range.</summary>
    public int ReplicationWidth => _width;

    /// <summary>Endpoint indices (into <see cref="TokenRing.Endpoints"/>) of the natural replicas of <paramref name="token"/>.</summary>
    public ReadOnlySpan<int> ReplicasFor(ulong token) => ReplicasOfRange(Ring.TokenIndexFor(token));

    /// <summary>Natural replicas of the range ending at ring token <paramref name="tokenIndex"/>.</summary>
    public ReadOnlySpan<int> ReplicasOfRange(int tokenIndex) => new(_replicas, tokenIndex * _width, _counts[tokenIndex]);

    /// <summary>Writes the addresses of the natural replicas of <paramref name="token"/>; returns how many.</summary>
    public int GetReplicas(ulong token, Span<NodeAddress> destination)
    {
        var replicas = ReplicasFor(token);
        var endpoints = Ring.Endpoints;
        for (var i = 0; i < replicas.Length; i++) destination[i] = endpoints[replicas[i]];
        return replicas.Length;
    }

    /// <summary>Fraction of the token space each endpoint holds a replica of (sums to the average replica count).</summary>
    public double[] ReplicatedOwnership()
    {
        var owned = new double[Ring.EndpointCount];
        for (var i = 0; i < Ring.TokenCount; i++)
        {
            var f = Ring.RangeFraction(i);
            foreach (var e in ReplicasOfRange(i)) owned[e] += f;
        }
        return owned;
    }
}
