using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Tests.Ring;

public class PreferenceListTests
{
    private sealed class Down(params NodeAddress[] down) : IEndpointLiveness
    {
        public bool IsAlive(NodeAddress endpoint) => !down.Contains(endpoint);
    }

    [Fact]
    public void Fill_ReplicaDown_NaturalsFirstThenLiveFallbacksClockwise()
    {
        var ring = RingTestData.Grow(8);
        var placement = new ReplicaPlacement(ring, new SimpleStrategy(3));
        const ulong token = 0x1234_5678_9abc_def0;
        var naturals = placement.ReplicasFor(token).ToArray();
        var deadFallbackCandidate = -1;
        // The first non-natural endpoint clockwise is down: it must be skipped.
        var start = ring.TokenIndexFor(token);
        for (var s = 0; s < ring.TokenCount && deadFallbackCandidate < 0; s++)
        {
            var e = ring.TokenOwners[(start + s) % ring.TokenCount];
            if (!naturals.Contains(e)) deadFallbackCandidate = e;
        }
        var liveness = new Down(ring.Endpoint(naturals[1]), ring.Endpoint(deadFallbackCandidate));
        Span<int> list = stackalloc int[8];
        var n = PreferenceList.Fill(placement, token, fallbacks: 2, liveness, list, out var naturalCount);
        Assert.Equal(3, naturalCount);
        Assert.Equal(5, n);
        Assert.Equal(naturals, list[..3].ToArray()); // naturals are listed even when down: the coordinator hints for them
        Assert.Equal(5, list[..n].ToArray().Distinct().Count());
        Assert.DoesNotContain(deadFallbackCandidate, list[3..n].ToArray());
        foreach (var f in list[3..n]) Assert.True(liveness.IsAlive(ring.Endpoint(f)));
    }

    [Fact]
    public void Fill_MoreFallbacksThanNodes_StopsAtRingSize()
    {
        var placement = new ReplicaPlacement(RingTestData.Grow(4), new SimpleStrategy(3));
        Span<int> list = stackalloc int[16];
        Assert.Equal(4, PreferenceList.Fill(placement, 99, fallbacks: 10, null, list, out var naturals));
        Assert.Equal(3, naturals);
    }
}
