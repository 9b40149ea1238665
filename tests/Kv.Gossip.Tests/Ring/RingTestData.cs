using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Tests.Ring;

internal static class RingTestData
{
    public static NodeAddress Address(int i) => new($"10.0.{i / 256}.{i % 256}", 7000);

    /// <summary>A ring grown one node at a time, each joining with the allocator (or random tokens).</summary>
    public static TokenRing Grow(int nodes, int numTokens = 16, int racks = 3, bool allocate = true, int seed = 1, int datacenters = 1)
    {
        var random = new Random(seed);
        var ring = TokenRing.Empty;
        for (var i = 0; i < nodes; i++)
        {
            var tokens = allocate ? TokenAllocator.Allocate(ring, numTokens, (ulong)random.NextInt64()) : TokenAllocator.Random(random, numTokens);
            ring = ring.With(new RingMember(Address(i), $"dc{(i / racks) % datacenters + 1}", $"rack{i % racks}", tokens));
        }
        return ring;
    }

    public static (double Max, double Min) Spread(double[] owned) => (owned.Max(), owned.Min());
}
