using CsCheck;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Tests.Ring;

public class TokenRingTests
{
    private static TokenRing Ring(params (int Node, ulong[] Tokens)[] members) =>
        TokenRing.Create(members.Select(m => new RingMember(RingTestData.Address(m.Node), "dc1", "rack1", m.Tokens)));

    [Fact]
    public void TokenIndexFor_TokenOnBoundary_BelongsToThatToken()
    {
        var ring = Ring((0, [100, 300]), (1, [200]));
        Assert.Equal(0, ring.TokenIndexFor(100)); // range (300, 100] ends at 100 inclusive
        Assert.Equal(1, ring.TokenIndexFor(101));
        Assert.Equal(1, ring.TokenIndexFor(200));
        Assert.Equal(2, ring.TokenIndexFor(201));
        Assert.Equal(0, ring.TokenIndexFor(301)); // wraps
        Assert.Equal(0, ring.TokenIndexFor(0));
        Assert.Equal(0, ring.TokenIndexFor(ulong.MaxValue));
        Assert.Equal(ring.Endpoint(ring.TokenOwners[1]), RingTestData.Address(1));
    }

    [Fact]
    public void TokenIndexFor_RandomRings_MatchesLinearScan()
    {
        Gen.Select(Gen.ULong.Array[1, 60], Gen.ULong).Sample((tokens, probe) =>
        {
            var distinct = tokens.Distinct().ToArray();
            var ring = TokenRing.Create(distinct.Select((t, i) => new RingMember(RingTestData.Address(i), "dc1", "rack1", [t])));
            var sorted = distinct.OrderBy(t => t).ToArray();
            var expected = Array.FindIndex(sorted, t => t >= probe);
            if (expected < 0) expected = 0;
            Assert.Equal(expected, ring.TokenIndexFor(probe));
            Assert.Equal(sorted[expected], ring.Tokens[ring.TokenIndexFor(probe)]);
        });
    }

    [Fact]
    public void PrimaryOwnership_AnyRing_SumsToOne()
    {
        var ring = RingTestData.Grow(17, allocate: false, seed: 5);
        Assert.Equal(1.0, ring.PrimaryOwnership().Sum(), 9);
        var single = Ring((0, [42]));
        Assert.Equal(1.0, single.PrimaryOwnership()[0], 9);
    }

    [Fact]
    public void Create_TwoNodesClaimOneToken_ThrowsNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => Ring((0, [5, 9]), (1, [9])));
        Assert.Contains("10.0.0.0:7000", e.Message);
        Assert.Contains("10.0.0.1:7000", e.Message);
    }

    [Fact]
    public void TokenIndexFor_EmptyRing_ThrowsClearError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TokenRing.Empty.TokenIndexFor(1));
        Assert.Contains("no tokens", e.Message);
    }

    [Fact]
    public void With_SameMembersInAnyOrder_NumbersEndpointsIdentically()
    {
        var members = Enumerable.Range(0, 8).Select(i => new RingMember(RingTestData.Address(i), "dc1", "r", [(ulong)i * 1000 + 7])).ToList();
        var a = TokenRing.Create(members);
        var b = TokenRing.Create(Enumerable.Reverse(members));
        Assert.Equal(a.Endpoints.ToArray(), b.Endpoints.ToArray());
        Assert.Equal(a.TokenOwners.ToArray(), b.TokenOwners.ToArray());
    }

    [Fact]
    public void Without_RemovesEveryTokenOfTheEndpoint()
    {
        var ring = RingTestData.Grow(5);
        var smaller = ring.Without(RingTestData.Address(2));
        Assert.Equal(4, smaller.EndpointCount);
        Assert.Equal(ring.TokenCount - 16, smaller.TokenCount);
        Assert.False(smaller.Contains(RingTestData.Address(2)));
        Assert.Same(smaller, smaller.Without(new NodeAddress("nowhere", 1)));
    }
}
