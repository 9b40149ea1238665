using System.IO.Hashing;

namespace Kv.Engine.Sstable;

/// <summary>Queries a filter written by <see cref="BloomFilterBuilder"/> (layout there). Pure function of its
/// inputs: thread-safe.</summary>
public static class BloomFilter
{
    /// <summary>False only if <paramref name="userKey"/> was certainly not added.</summary>
    public static bool MayContain(ReadOnlySpan<byte> filter, ReadOnlySpan<byte> userKey)
    {
        if (filter.Length < 2) return true;
        int k = filter[^1];
        if (k == 0) return true;
        var bytes = filter.Length - 1;
        var m = (ulong)bytes * 8;
        var h = XxHash3.HashToUInt64(userKey);
        var h1 = (uint)h;
        var h2 = (uint)(h >> 32);
        for (var i = 0; i < k; i++)
        {
            var p = ((ulong)h1 * m) >> 32;
            if ((filter[(int)(p >> 3)] & (1 << (int)(p & 7))) == 0) return false;
            h1 += h2;
        }
        return true;
    }
}
