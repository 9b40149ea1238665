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
/// <para>With a replication factor above 1, what a node stores is not its primary ranges but every range it
/// replicates, which depends on its neighbours clockwise. Then each token still takes the same share, but
/// where it goes is chosen among the widest ranges of the ring by evaluating, for each candidate, the
/// resulting spread of replicated ownership (SimpleStrategy placement) and of primary ownership, and keeping
/// the best: O(candidates x tokens x RF) per token, fine for joins (milliseconds at 100 nodes), not a hot path.</para>
/// Stateless and thread-safe.
/// </remarks>
public static class TokenAllocator
{
    /// <summary>How many of the widest ranges the replica-aware allocation evaluates per token.</summary>
    private const int Candidates = 32;

    public static ulong[] Allocate(TokenRing ring, int numTokens, ulong offset = 0, int replicationFactor = 1)
    {
        if (numTokens < 1) throw new ArgumentOutOfRangeException(nameof(numTokens), numTokens, "A node needs at least one token.");
        if (replicationFactor < 1) throw new ArgumentOutOfRangeException(nameof(replicationFactor), replicationFactor, "The replication factor must be at least 1.");
        var result = new ulong[numTokens];
        if (ring.TokenCount == 0)
        {
            var step = ulong.MaxValue / (ulong)numTokens;
            for (var i = 0; i < numTokens; i++) result[i] = unchecked(offset + ((ulong)i * step));
            return result;
        }
        if (replicationFactor > 1 && ring.EndpointCount > 1) return AllocateReplicaAware(ring, numTokens, replicationFactor, offset);

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
        Jitter(result.AsSpan(0, placed), tokens, offset);

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

    private static ulong[] AllocateReplicaAware(TokenRing ring, int numTokens, int replicationFactor, ulong offset)
    {
        var n = ring.EndpointCount;
        var joiner = n;
        var tokens = new List<ulong>(ring.TokenCount + numTokens);
        var owners = new List<int>(ring.TokenCount + numTokens);
        for (var i = 0; i < ring.TokenCount; i++) { tokens.Add(ring.Tokens[i]); owners.Add(ring.TokenOwners[i]); }
        var rf = Math.Min(replicationFactor, n + 1);
        var primaryTarget = 1.0 / (n + 1);
        var replicaTarget = rf * primaryTarget;
        var primary = new double[n + 1];
        var replicated = new double[n + 1];
        var order = new List<int>();
        var result = new ulong[numTokens];
        var joinerOwned = 0.0;
        for (var k = 0; k < numTokens; k++)
        {
            var share = Math.Max(0.0, primaryTarget - joinerOwned) / (numTokens - k);
            // Candidates: the widest ranges of the endpoints that own or store the most, then the widest overall.
            Ownership(tokens, owners, rf, primary, replicated);
            order.Clear();
            for (var i = 0; i < tokens.Count; i++) if (owners[i] != joiner) order.Add(i);
            order.Sort((a, b) => Width(tokens, b).CompareTo(Width(tokens, a)));
            var heavy = new List<int>();
            for (var e = 0; e < n; e++) heavy.Add(e);
            heavy.Sort((a, b) => primary[b].CompareTo(primary[a]));
            var byReplicated = new List<int>(heavy);
            byReplicated.Sort((a, b) => replicated[b].CompareTo(replicated[a]));
            var front = new List<int>();
            foreach (var e in heavy.Take(4).Concat(byReplicated.Take(4)))
            {
                var taken = 0;
                foreach (var i in order)
                {
                    if (owners[i] != e || front.Contains(i)) continue;
                    front.Add(i);
                    if (++taken == 2) break;
                }
            }
            foreach (var i in order) if (!front.Contains(i)) front.Add(i);
            order.Clear();
            order.AddRange(front);
            var best = double.MaxValue;
            ulong bestToken = 0;
            var bestTake = 0.0;
            for (var c = 0; c < Math.Min(Candidates, order.Count); c++)
            {
                var range = order[c];
                var width = Width(tokens, range);
                if (width < 2) continue;
                var take = (ulong)Math.Min(share * TokenRing.TokenSpace, width * 0.9);
                if (take == 0) take = 1;
                var candidate = unchecked(tokens[range == 0 ? tokens.Count - 1 : range - 1] + take);
                var at = tokens.BinarySearch(candidate);
                if (at >= 0) continue;
                at = ~at;
                tokens.Insert(at, candidate);
                owners.Insert(at, joiner);
                Ownership(tokens, owners, rf, primary, replicated);
                tokens.RemoveAt(at);
                owners.RemoveAt(at);
                var cost = 0.0;
                for (var e = 0; e <= n; e++)
                {
                    var dr = replicated[e] - replicaTarget;
                    var dp = (primary[e] - primaryTarget) * rf * 2;
                    cost += (dr * dr) + (dp * dp);
                }
                if (cost < best)
                {
                    best = cost;
                    bestToken = candidate;
                    bestTake = take / TokenRing.TokenSpace;
                }
            }
            if (best == double.MaxValue) return Allocate(ring, numTokens, offset); // nothing splittable: fall back
            var insertAt = ~tokens.BinarySearch(bestToken);
            tokens.Insert(insertAt, bestToken);
            owners.Insert(insertAt, joiner);
            joinerOwned += bestTake;
            result[k] = bestToken;
        }
        Jitter(result, tokens, offset);
        return result;
    }

    /// <summary>
    /// Moves each chosen token forward by up to 2^32 (a 2^-32 share of the ring, nothing for balance) by a value drawn
    /// from the joiner's offset, staying short of the next token. Two nodes that allocate against the same view of the
    /// ring (joining at the same moment without hearing of each other) then claim different tokens, instead of
    /// identical ones that the ring would give to only one of them, leaving the other a member that owns nothing.
    /// The choice itself is made on the unmoved tokens, so the plan (and its balance) does not depend on the offset.
    /// </summary>
    /// <param name="chosen">The new tokens, each present in <paramref name="all"/>.</param>
    /// <param name="all">Every token after the allocation, sorted.</param>
    private static void Jitter(Span<ulong> chosen, List<ulong> all, ulong offset)
    {
        for (var k = 0; k < chosen.Length; k++)
        {
            var at = all.BinarySearch(chosen[k]);
            var next = at + 1 < all.Count ? all[at + 1] : ulong.MaxValue;
            var room = next - chosen[k]; // the next token is larger, or this is the last token before the wrap
            var jitter = Mix(unchecked(offset + (ulong)k)) >> 32;
            if (jitter < room) chosen[k] += jitter;
        }
    }

    /// <summary>SplitMix64's finalizer: spreads the bits of a counter.</summary>
    private static ulong Mix(ulong x)
    {
        x = unchecked((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL);
        x = unchecked((x ^ (x >> 27)) * 0x94D049BB133111EBUL);
        return x ^ (x >> 31);
    }

    /// <summary>Primary and replicated (SimpleStrategy, <paramref name="rf"/>) ownership of every owner id.</summary>
    private static void Ownership(List<ulong> tokens, List<int> owners, int rf, double[] primary, double[] replicated)
    {
        Array.Clear(primary);
        Array.Clear(replicated);
        Span<int> chosen = stackalloc int[rf];
        for (var i = 0; i < tokens.Count; i++)
        {
            var f = Width(tokens, i) / TokenRing.TokenSpace;
            primary[owners[i]] += f;
            var count = 0;
            for (var step = 0; step < tokens.Count && count < rf; step++)
            {
                var o = owners[(i + step) % tokens.Count];
                if (chosen[..count].IndexOf(o) >= 0) continue;
                chosen[count++] = o;
                replicated[o] += f;
            }
        }
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
