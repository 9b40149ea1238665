namespace Kv.Node.Storage;

/// <summary>When a conditional SET writes.</summary>
public enum SetCondition
{
    Always,

    /// <summary>NX: only when the key does not exist.</summary>
    IfAbsent,

    /// <summary>XX: only when the key exists.</summary>
    IfPresent,
}

/// <summary>Options of a conditional SET: condition, and either a new expiry or KEEPTTL.</summary>
public readonly record struct SetOptions(SetCondition Condition, long ExpiresAtUnixMs, bool KeepTtl);

/// <summary>Outcome of a conditional SET: whether it wrote, and what was there before.</summary>
public readonly record struct SetResult(bool Written, KeyLookup Previous);
