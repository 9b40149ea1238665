namespace Kv.Bench;

/// <summary>Formats key number k as db_bench does: zero-padded decimal, padded or cut to key_size bytes.</summary>
internal static class KeyFormatter
{
    public static void Format(long k, Span<byte> key)
    {
        // digits right-aligned, leading '0's: byte order equals numeric order
        var i = key.Length - 1;
        var v = (ulong)k;
        for (; i >= 0; i--)
        {
            key[i] = (byte)('0' + (v % 10));
            v /= 10;
        }
    }
}
