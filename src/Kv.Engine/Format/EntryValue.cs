namespace Kv.Engine.Format;

/// <summary>
/// The value half of an internal entry, as stored in memtables, WAL batches and SSTables.
/// <code>
/// // entry value (kind = Value)     := expires_at: varint u64 (unix ms; 0 = never expires) | user value bytes
/// // entry value (kind = Tombstone) := empty
/// </code>
/// wire format: changing this breaks existing data.
/// </summary>
public static class EntryValue
{
    public static int EncodedLength(long expiresAtUnixMs, int valueLength) => Varint.Length((ulong)expiresAtUnixMs) + valueLength;

    public static int Write(Span<byte> destination, long expiresAtUnixMs, ReadOnlySpan<byte> value)
    {
        var n = Varint.Write(destination, (ulong)expiresAtUnixMs);
        value.CopyTo(destination[n..]);
        return n + value.Length;
    }

    /// <summary>Splits an encoded Value entry; false if the varint is malformed.</summary>
    public static bool TryRead(ReadOnlySpan<byte> encoded, out long expiresAtUnixMs, out ReadOnlySpan<byte> value)
    {
        var n = Varint.TryRead(encoded, out ulong expires);
        if (n == 0) { expiresAtUnixMs = 0; value = default; return false; }
        expiresAtUnixMs = (long)expires;
        value = encoded[n..];
        return true;
    }

    public static bool IsExpired(long expiresAtUnixMs, long nowUnixMs) => expiresAtUnixMs != 0 && expiresAtUnixMs <= nowUnixMs;
}
