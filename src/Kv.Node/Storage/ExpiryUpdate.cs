namespace Kv.Node.Storage;

/// <summary>What to do with a key's expiry.</summary>
public enum ExpiryAction
{
    /// <summary>Leave it (GETEX without options).</summary>
    Keep,

    /// <summary>Set it to <see cref="ExpiryUpdate.ExpiresAtUnixMs"/> (a time in the past deletes the key, as in Redis).</summary>
    Set,

    /// <summary>Remove it (PERSIST, GETEX PERSIST).</summary>
    Persist,
}

/// <summary>EXPIRE's conditions (Redis 7): NX no expiry yet, XX has one, GT/LT new one greater/less (no expiry counts as infinite).</summary>
public enum ExpiryCondition
{
    None,
    IfNoExpiry,
    IfHasExpiry,
    IfGreater,
    IfLess,
}

public readonly record struct ExpiryUpdate(ExpiryAction Action, long ExpiresAtUnixMs, ExpiryCondition Condition = ExpiryCondition.None)
{
    public static ExpiryUpdate Keep => new(ExpiryAction.Keep, 0);

    public static ExpiryUpdate Persist => new(ExpiryAction.Persist, 0);

    /// <summary>Whether the condition lets a key currently expiring at <paramref name="currentExpiresAtUnixMs"/> (0 = never) change.</summary>
    public bool Allows(long currentExpiresAtUnixMs) => Condition switch
    {
        ExpiryCondition.IfNoExpiry => currentExpiresAtUnixMs == 0,
        ExpiryCondition.IfHasExpiry => currentExpiresAtUnixMs != 0,
        ExpiryCondition.IfGreater => currentExpiresAtUnixMs != 0 && ExpiresAtUnixMs > currentExpiresAtUnixMs,
        ExpiryCondition.IfLess => currentExpiresAtUnixMs == 0 || ExpiresAtUnixMs < currentExpiresAtUnixMs,
        _ => true,
    };
}
