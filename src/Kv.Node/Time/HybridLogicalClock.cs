using Microsoft.Extensions.Logging;

namespace Kv.Node.Time;

/// <summary>
/// Hybrid logical clock: timestamps that follow wall time but never go backwards, so that "highest
/// timestamp wins" matches causality on this node even when the wall clock steps back.
/// </summary>
/// <remarks>
/// <code>
/// timestamp := physical: 48 bits (unix milliseconds) | logical: 16 bits (counter within that millisecond)
/// </code>
/// wire format: timestamps are stored with every cell; changing the layout breaks existing data.
/// Threading: <see cref="Now"/> and <see cref="Update"/> are lock-free (a CAS loop on one 64-bit field) and
/// may be called from any thread. Persisting the high-water mark takes a lock, but only once per
/// reservation window (a few seconds of wall time).
/// Restart monotonicity: before handing out a timestamp whose physical part passes the reserved bound,
/// the clock persists a new bound (now + window) through <see cref="IClockHighWaterMark"/>; on start it
/// begins above the persisted bound, so no timestamp issued before a crash can be issued again.
/// </remarks>
public sealed class HybridLogicalClock
{
    public const int LogicalBits = 16;
    public const long LogicalMask = (1L << LogicalBits) - 1;
    public const long MaxPhysicalMs = (1L << 48) - 1;

    private readonly TimeProvider _time;
    private readonly IClockHighWaterMark? _highWaterMark;
    private readonly long _reservationWindowMs;
    private readonly Lock _reserveLock = new();
    private readonly ILogger? _logger;
    private long _last;
    private long _reservedUntilMs;

    public HybridLogicalClock(TimeProvider time, IClockHighWaterMark? highWaterMark = null, TimeSpan? reservationWindow = null, ILogger? logger = null)
    {
        _time = time;
        _highWaterMark = highWaterMark;
        _logger = logger;
        _reservationWindowMs = (long)(reservationWindow ?? TimeSpan.FromSeconds(5)).TotalMilliseconds;
        if (highWaterMark is not null)
        {
            var persisted = highWaterMark.Load();
            // Everything below the persisted bound may have been issued before a crash: start above it.
            _last = Pack(persisted + 1, 0);
            _reservedUntilMs = persisted;
        }
        else
        {
            _reservedUntilMs = long.MaxValue;
        }
    }

    public static long Pack(long physicalMs, long logical) => (physicalMs << LogicalBits) | (logical & LogicalMask);

    public static long PhysicalOf(long timestamp) => timestamp >>> LogicalBits;

    public static long LogicalOf(long timestamp) => timestamp & LogicalMask;

    /// <summary>The last timestamp issued or observed.</summary>
    public long Last => Volatile.Read(ref _last);

    /// <summary>A timestamp for a local event (a write this node coordinates): greater than every earlier one.</summary>
    public long Now()
    {
        var wall = WallMs();
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = wall > PhysicalOf(last) ? Pack(wall, 0) : last + 1;
            EnsureReserved(PhysicalOf(next));
            if (Interlocked.CompareExchange(ref _last, next, last) == last) return next;
        }
    }

    /// <summary>Merges a timestamp received from another node; returns a local timestamp above both.</summary>
    public long Update(long remoteTimestamp)
    {
        var wall = WallMs();
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var lastPhysical = PhysicalOf(last);
            var remotePhysical = PhysicalOf(remoteTimestamp);
            var physical = Math.Max(wall, Math.Max(lastPhysical, remotePhysical));
            long logical;
            if (physical == lastPhysical && physical == remotePhysical) logical = Math.Max(LogicalOf(last), LogicalOf(remoteTimestamp)) + 1;
            else if (physical == lastPhysical) logical = LogicalOf(last) + 1;
            else if (physical == remotePhysical) logical = LogicalOf(remoteTimestamp) + 1;
            else logical = 0;
            if (logical > LogicalMask)
            {
                physical++;
                logical = 0;
            }
            var next = Pack(physical, logical);
            EnsureReserved(physical);
            if (Interlocked.CompareExchange(ref _last, next, last) == last) return next;
        }
    }

    private long WallMs() => Math.Clamp(_time.GetUtcNow().ToUnixTimeMilliseconds(), 0, MaxPhysicalMs);

    private void EnsureReserved(long physicalMs)
    {
        if (physicalMs < Volatile.Read(ref _reservedUntilMs)) return;
        lock (_reserveLock)
        {
            if (physicalMs < _reservedUntilMs) return;
            var bound = physicalMs + _reservationWindowMs;
            _highWaterMark!.Store(bound);
            Volatile.Write(ref _reservedUntilMs, bound);
            _logger?.LogDebug("HLC reserved timestamps up to {Bound} ms", bound);
        }
    }
}
