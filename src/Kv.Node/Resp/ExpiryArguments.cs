namespace Kv.Node.Resp;

/// <summary>Turns the EX/PX/EXAT/PXAT forms into an absolute unix-ms expiry, with Redis's overflow rules.</summary>
internal static class ExpiryArguments
{
    public enum Unit { Seconds, Milliseconds, UnixSeconds, UnixMilliseconds }

    /// <summary>False when the time overflows or (for SET/GETEX) is not positive: "invalid expire time".</summary>
    public static bool TryToAbsolute(long amount, Unit unit, long nowUnixMs, bool mustBePositive, out long expiresAtUnixMs)
    {
        expiresAtUnixMs = 0;
        if (mustBePositive && amount <= 0) return false;
        long ms;
        if (unit is Unit.Seconds or Unit.UnixSeconds)
        {
            if (amount > long.MaxValue / 1000 || amount < long.MinValue / 1000) return false;
            ms = amount * 1000;
        }
        else
        {
            ms = amount;
        }
        if (unit is Unit.Seconds or Unit.Milliseconds)
        {
            if (ms > 0 && nowUnixMs > long.MaxValue - ms) return false;
            ms += nowUnixMs;
        }
        if (ms > Time.HybridLogicalClock.MaxPhysicalMs * 16) return false; // far beyond any real date: Redis also rejects overflowing times
        expiresAtUnixMs = ms;
        return true;
    }

    /// <summary>A past or present expiry: the key is deleted instead (EXPIRE with a non-positive time).</summary>
    public static long ClampPast(long expiresAtUnixMs) => Math.Max(expiresAtUnixMs, 1);
}
