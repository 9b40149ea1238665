namespace Kv.Engine.Compaction;

/// <summary>
/// Decides whether a tombstone may be dropped by a compaction. A tombstone is purged only when all three hold:
/// <list type="number">
/// <item>it is older than the grace period (its timestamp, read as wall-clock time, is before now - grace);</item>
/// <item>its timestamp is below the "repaired up to" watermark, if the caller supplies one (anti-entropy has
/// made every replica agree on everything older, so no replica can re-send an older value it missed);</item>
/// <item>no older version of the key can remain outside the compaction (<see cref="KeyMayExistOutside"/>):
/// dropping the tombstone would otherwise resurrect that version.</item>
/// </list>
/// Immutable; thread-safe if the delegates are.
/// </summary>
public sealed class TombstonePurgePolicy
{
    /// <summary>Never purges (a compaction that must keep every tombstone).</summary>
    public static readonly TombstonePurgePolicy Never = new(long.MinValue, long.MinValue, static _ => 0, static (_, _) => true);

    private readonly long _graceCutoffUnixMs;
    private readonly long _repairedUpTo;
    private readonly Func<long, long> _timestampToUnixMs;

    /// <param name="graceCutoffUnixMs">now - grace period, in unix milliseconds.</param>
    /// <param name="repairedUpToTimestamp">tombstones at or above this timestamp are kept; long.MaxValue: no watermark.</param>
    /// <param name="timestampToUnixMs">reads a version timestamp as wall-clock time (HLC: <c>ts &gt;&gt; 16</c>).</param>
    /// <param name="keyMayExistOutside">true if a version of the user key at or below the timestamp (a value at the
    /// same timestamp loses only to the tombstone) may live in a
    /// table or memtable that is not an input of this compaction. Must be conservative.</param>
    public TombstonePurgePolicy(long graceCutoffUnixMs, long repairedUpToTimestamp, Func<long, long> timestampToUnixMs,
                                KeyMayExistOutside keyMayExistOutside)
    {
        _graceCutoffUnixMs = graceCutoffUnixMs;
        _repairedUpTo = repairedUpToTimestamp;
        _timestampToUnixMs = timestampToUnixMs;
        KeyMayExistOutside = keyMayExistOutside;
    }

    public KeyMayExistOutside KeyMayExistOutside { get; }

    /// <summary>The time conditions only (grace and watermark): cheap, checked before the overlap predicate.</summary>
    public bool IsOldEnough(long timestamp) =>
        timestamp < _repairedUpTo && _timestampToUnixMs(timestamp) < _graceCutoffUnixMs;

    public bool CanPurge(ReadOnlySpan<byte> userKey, long timestamp) =>
        IsOldEnough(timestamp) && !KeyMayExistOutside(userKey, timestamp);

    /// <summary>Reads a hybrid logical clock timestamp (48 bits of milliseconds, 16 of counter) as unix milliseconds.</summary>
    public static long HybridTimestampToUnixMs(long timestamp) => timestamp >> 16;
}

/// <summary>True if a version of <paramref name="userKey"/> at or below <paramref name="timestamp"/> may exist
/// somewhere a compaction does not read.</summary>
public delegate bool KeyMayExistOutside(ReadOnlySpan<byte> userKey, long timestamp);
