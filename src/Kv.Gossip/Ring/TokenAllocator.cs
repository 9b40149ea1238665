namespace Kv.Gossip.Ring;

/// <summary>
/// Chooses the tokens of a joining node so that primary ownership stays balanced, instead of picking
/// random tokens (whose spread with 16 vnodes is easily 2x between the most and least loaded node).
/// </summary>
/// <remarks>
/// The joiner should end with 1/(n+1) of the token space. For each of its tokens, greedily: take the
/// existing endpoint that currently owns the most, take that endpoint's widest range, and place the new
/// token inside it so the joiner takes (from the start of the range) the share still needed divided by the
/// tokens still to place, capped at 90% of the range so the donor keeps a piece. Taking from the most-loaded
/// endpoint each time pulls the maximum down while the joiner converges on the mean; the result is a
/// deterministic function of the ring. The first node gets evenly spaced tokens from <paramref name="offset"/>.
/// Stateless and thread-safe.
/// </remarks>
public static class TokenAllocator
{
    public static ulong[] Allocate(TokenRing ring, int numTokens, ulong offset = 0)
    {
        if (numTokens < 1) throw new ArgumentOutOfRangeException(nameof(numTokens), numTokens, "A node needs at least one token.");
        var result = new ulong[numTokens];
        if (ring.TokenCount == 0)
        {
            var step = ulong.MaxValue / (ulong)numTokens;
            for (var i = 0; i < numTokens; i++) result[i] = unchecked(offset + ((ulong)i * step));
            return result;
        }

        // Working copy: sorted ranges as (end token, owner); owner -1 = the joiner.
        var tokens = new List<ulong>(ring.TokenCount + numTokens);
        var owners = new List<int>(ring.TokenCount + numTokens);
        for (var i = 0; i < ring.TokenCount; i++) { tokens.Add(ring.Tokens[i]); owners.Add(ring.TokenOwners[i]); }
        var owned = ring.PrimaryOwnership();
        var target = 1.0 / (ring.EndpointCount + 1);
        var joinerOwned = 0.0;
        var placed = 0;

        for (var k = 0; k < numTokens; k++)
        {
            var donor = 0;
            for (var e = 1; e < owned.Length; e++) if (owned[e] > owned[donor]) donor = e;

            var widest = -1;
            var widestWidth = 0UL;
            for (var i = 0; i < tokens.Count; i++)
            {
                if (owners[i] != donor) continue;
                var width = Width(tokens, i);
                if (widest < 0 || width > widestWidth) { widest = i; widestWidth = width; }
            }
            if (widestWidth < 2) break; // the donor's ranges cannot be split further; give up on balance, keep what we have

            var share = Math.Max(0.0, target - joinerOwned) / (numTokens - k);
            var take = (ulong)Math.Min(share * TokenRing.TokenSpace, widestWidth * 0.9);
            if (take == 0) take = 1;
            var start = tokens[widest == 0 ? tokens.Count - 1 : widest - 1];
            var newToken = unchecked(start + take);
            var insertAt = tokens.BinarySearch(newToken);
            if (insertAt >= 0) break; // collision cannot happen for take < width, but never claim a taken token
            insertAt = ~insertAt;
            tokens.Insert(insertAt, newToken);
            owners.Insert(insertAt, -1);
            var fraction = take / TokenRing.TokenSpace;
            owned[donor] -= fraction;
            joinerOwned += fraction;
            result[k] = newToken;
            placed++;
        }

        // Degenerate ring (ranges too narrow to split): the remaining tokens are evenly spread free ones.
        var stride = ulong.MaxValue / (ulong)numTokens;
        for (var k = placed; k < numTokens; k++)
        {
            var candidate = unchecked(offset + ((ulong)k * stride) + 1);
            while (tokens.BinarySearch(candidate) >= 0) candidate++;
            var at = ~tokens.BinarySearch(candidate);
            tokens.Insert(at, candidate);
            result[k] = candidate;
        }
        return result;
    }

    /// <summary>Random tokens, for comparison with the allocator (and what a naive node would do).</summary>
    public static ulong[] Random(Random random, int numTokens)
    {
        var result = new ulong[numTokens];
        for (var i = 0; i < numTokens; i++) result[i] = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
        return result;
    }

    private static ulong Width(List<ulong> tokens, int i) =>
        tokens.Count == 1 ? ulong.MaxValue : unchecked(tokens[i] - tokens[i == 0 ? tokens.Count - 1 : i - 1]);
}
