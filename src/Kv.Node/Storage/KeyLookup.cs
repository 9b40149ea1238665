namespace Kv.Node.Storage;

/// <summary>What a read found: whether the key is live, and its expiry (unix ms, 0 = none).</summary>
public readonly record struct KeyLookup(bool Found, long ExpiresAtUnixMs)
{
    public static KeyLookup Absent => default;
}
