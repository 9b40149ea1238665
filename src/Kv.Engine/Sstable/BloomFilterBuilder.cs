using System.IO.Hashing;

namespace Kv.Engine.Sstable;

/// <summary>
/// Collects the user keys of a table and writes one Bloom filter over all of them.
/// <code>
/// // filter block contents := bits: u8 * m_bytes | k: u8
/// //   k = 0: no filter (every key may be present)
/// //   h = XxHash3-64(user key); h1 = low 32 bits, h2 = high 32 bits;
/// //   probe i (0 &lt;= i &lt; k) sets bit  p_i = ((h1 + i*h2) mod 2^32) * (8*m_bytes) &gt;&gt; 32,
/// //   bit p lives in byte p/8 at position p%8 (least significant first).
/// </code>
/// wire format: changing this breaks existing data. Not thread-safe.
/// </summary>
public sealed class BloomFilterBuilder
{
    private readonly int _bitsPerKey;
    private ulong[] _hashes = new ulong[1024];
    private int _count;

    public BloomFilterBuilder(int bitsPerKey)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bitsPerKey);
        _bitsPerKey = bitsPerKey;
    }

    public int KeyCount => _count;

    /// <summary>Adds a user key; the caller adds each distinct key once (adding it again only wastes bits).</summary>
    public void AddKey(ReadOnlySpan<byte> userKey)
    {
        if (_count == _hashes.Length) Array.Resize(ref _hashes, _hashes.Length * 2);
        _hashes[_count++] = XxHash3.HashToUInt64(userKey);
    }

    /// <summary>Number of probes for a bits-per-key budget: bits * ln 2 minimises the false-positive rate.</summary>
    public static int ProbeCount(int bitsPerKey) => Math.Clamp((int)Math.Round(bitsPerKey * 0.69), 1, 30);

    public byte[] Finish()
    {
        if (_bitsPerKey == 0) return [0];
        var k = ProbeCount(_bitsPerKey);
        var bits = Math.Max(64L, (long)_count * _bitsPerKey);
        var bytes = (int)Math.Min((bits + 7) / 8, int.MaxValue / 16);
        var filter = new byte[bytes + 1];
        var m = (ulong)bytes * 8;
        for (var j = 0; j < _count; j++)
        {
            var h = _hashes[j];
            var h1 = (uint)h;
            var h2 = (uint)(h >> 32);
            for (var i = 0; i < k; i++)
            {
                var p = ((ulong)h1 * m) >> 32;
                filter[p >> 3] |= (byte)(1 << (int)(p & 7));
                h1 += h2;
            }
        }
        filter[bytes] = (byte)k;
        return filter;
    }
}
