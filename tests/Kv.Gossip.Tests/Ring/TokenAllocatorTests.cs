using Kv.Gossip.Ring;
using Xunit.Abstractions;

namespace Kv.Gossip.Tests.Ring;

public class TokenAllocatorTests(ITestOutputHelper output)
{
    [Fact]
    public void Allocate_3To100Nodes_OwnershipSpreadUnder1Point3()
    {
        var random = new Random(7);
        var allocated = TokenRing.Empty;
        var randomRing = TokenRing.Empty;
        var worst = 0.0;
        output.WriteLine(" nodes  allocator max/min (primary)  (RF=3 replicated)   random tokens max/min (primary)  (RF=3)");
        for (var n = 1; n <= 100; n++)
        {
            allocated = allocated.With(new RingMember(RingTestData.Address(n), "dc1", "rack1", TokenAllocator.Allocate(allocated, 16, (ulong)random.NextInt64())));
            randomRing = randomRing.With(new RingMember(RingTestData.Address(n), "dc1", "rack1", TokenAllocator.Random(random, 16)));
            if (n < 3) continue;
            var (max, min) = RingTestData.Spread(allocated.PrimaryOwnership());
            worst = Math.Max(worst, max / min);
            Assert.True(max / min < 1.3, $"{n} nodes: allocator spread {max / min:0.000}");
            if (n is 3 or 4 or 5 or 6 or 10 or 20 or 50 or 100)
            {
                var (rmax, rmin) = RingTestData.Spread(randomRing.PrimaryOwnership());
                var (amax3, amin3) = RingTestData.Spread(new ReplicaPlacement(allocated, new SimpleStrategy(3)).ReplicatedOwnership());
                var (rmax3, rmin3) = RingTestData.Spread(new ReplicaPlacement(randomRing, new SimpleStrategy(3)).ReplicatedOwnership());
                output.WriteLine($"{n,6}  {max / min,10:0.000}                 {amax3 / amin3,10:0.000}            {rmax / rmin,10:0.000}                   {rmax3 / rmin3,8:0.000}");
            }
        }
        output.WriteLine($"worst allocator spread over 3..100 nodes: {worst:0.000}");
    }

    [Fact]
    public void Allocate_ReplicaAware_BalancesWhatNodesStoreAtRf3()
    {
        var random = new Random(7);
        var aware = TokenRing.Empty;
        var primaryOnly = TokenRing.Empty;
        var worstAware = 0.0;
        var worstPrimaryOnly = 0.0;
        output.WriteLine(" nodes  RF-aware: replicated max/min  primary max/min   primary-only allocator: replicated max/min");
        for (var n = 1; n <= 60; n++)
        {
            var offset = (ulong)random.NextInt64();
            aware = aware.With(new RingMember(RingTestData.Address(n), "dc1", "rack1", TokenAllocator.Allocate(aware, 16, offset, replicationFactor: 3)));
            primaryOnly = primaryOnly.With(new RingMember(RingTestData.Address(n), "dc1", "rack1", TokenAllocator.Allocate(primaryOnly, 16, offset)));
            if (n < 4) continue;
            var (amax, amin) = RingTestData.Spread(new ReplicaPlacement(aware, new SimpleStrategy(3)).ReplicatedOwnership());
            var (pmax, pmin) = RingTestData.Spread(aware.PrimaryOwnership());
            var (omax, omin) = RingTestData.Spread(new ReplicaPlacement(primaryOnly, new SimpleStrategy(3)).ReplicatedOwnership());
            worstAware = Math.Max(worstAware, amax / amin);
            worstPrimaryOnly = Math.Max(worstPrimaryOnly, omax / omin);
            if (n is 4 or 5 or 6 or 8 or 10 or 20 or 40 or 60)
                output.WriteLine($"{n,6}  {amax / amin,10:0.000}               {pmax / pmin,10:0.000}        {omax / omin,10:0.000}");
            Assert.True(pmax / pmin < 1.5, $"{n} nodes: primary spread {pmax / pmin:0.000} with the replica-aware allocator");
        }
        output.WriteLine($"worst replicated spread, 4..60 nodes: RF-aware {worstAware:0.000}, primary-only {worstPrimaryOnly:0.000}");
        Assert.True(worstAware < worstPrimaryOnly, "the replica-aware allocator should balance replicated ownership better");
        Assert.True(worstAware < 1.5, $"replicated spread reached {worstAware:0.000}");
    }

    [Fact]
    public void Allocate_AddingOneNode_MovesAboutOneNthOfTheRangesAllToTheNewNode()
    {
        foreach (var n in new[] { 5, 20, 60 })
        {
            var before = RingTestData.Grow(n);
            var newcomer = RingTestData.Address(1000);
            var after = before.With(new RingMember(newcomer, "dc1", "rack0", TokenAllocator.Allocate(before, 16)));
            // Sample the token space: which share changed primary owner, and where did it go?
            var random = new Random(n);
            int moved = 0, movedElsewhere = 0;
            const int samples = 200_000;
            for (var i = 0; i < samples; i++)
            {
                var t = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
                var was = before.Endpoint(before.PrimaryOwnerOf(t));
                var now = after.Endpoint(after.PrimaryOwnerOf(t));
                if (was == now) continue;
                moved++;
                if (now != newcomer) movedElsewhere++;
            }
            var fraction = moved / (double)samples;
            var ideal = 1.0 / (n + 1);
            output.WriteLine($"{n} -> {n + 1} nodes: {fraction:0.0000} of the token space moved (ideal {ideal:0.0000})");
            Assert.Equal(0, movedElsewhere);
            Assert.InRange(fraction, ideal * 0.8, ideal * 1.25);
        }
    }

    [Fact]
    public void Allocate_EmptyRing_SpacesTokensEvenly()
    {
        var tokens = TokenAllocator.Allocate(TokenRing.Empty, 4, offset: 10);
        Assert.Equal(4, tokens.Distinct().Count());
        var ring = TokenRing.Create([new RingMember(RingTestData.Address(0), "dc1", "r", tokens)]);
        for (var i = 0; i < 4; i++) Assert.Equal(0.25, ring.RangeFraction(i), 6);
    }

    [Fact]
    public void Allocate_NeverReturnsATakenToken()
    {
        var ring = RingTestData.Grow(30, numTokens: 4, seed: 3);
        var fresh = TokenAllocator.Allocate(ring, 64);
        Assert.Equal(64, fresh.Distinct().Count());
        foreach (var t in fresh) Assert.True(ring.Tokens.IndexOf(t) < 0);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(5, 3)]
    public void Allocate_TwoJoinersAgainstTheSameView_ClaimNoCommonToken(int existing, int replicationFactor)
    {
        // Joiners that have not heard of each other allocate against the same ring; identical tokens would leave one
        // of them owning nothing once the ring resolves the duplicates.
        var ring = RingTestData.Grow(existing, numTokens: 16, seed: 11);
        var a = TokenAllocator.Allocate(ring, 16, offset: 0x1234, replicationFactor: replicationFactor);
        var b = TokenAllocator.Allocate(ring, 16, offset: 0x9876, replicationFactor: replicationFactor);
        Assert.Empty(a.Intersect(b));
        var both = ring.With(new RingMember(RingTestData.Address(100), "dc1", "r", a)).With(new RingMember(RingTestData.Address(101), "dc1", "r", b));
        Assert.Equal(ring.TokenCount + 32, both.TokenCount);
    }
}
