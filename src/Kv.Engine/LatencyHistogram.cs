using System.Numerics;

namespace Kv.Engine;

/// <summary>
/// Durations in microseconds, counted into buckets a quarter of a power of two wide (a bucket's upper bound is at most
/// 25 % above its lower), so a percentile comes back as its bucket's upper bound, never below the true value and at
/// most a quarter above it. For the engine's WAL syncs (INFO engine <c>engine_wal_sync_*</c>).
/// </summary>
/// <remarks>Thread-safe and lock-free: <see cref="Record"/> is one interlocked increment (and a compare-exchange when
/// it raises the maximum); readers see each bucket's count at some moment of their read, not one snapshot.</remarks>
public sealed class LatencyHistogram
{
    private const int MaxExponent = 40; // 2^40 µs, about 12 days: longer durations count as that
    private readonly long[] _buckets = new long[BucketOf(1L << MaxExponent) + 1];
    private long _max;

    /// <summary>Durations recorded.</summary>
    public long Count
    {
        get
        {
            long count = 0;
            foreach (ref var bucket in _buckets.AsSpan()) count += Volatile.Read(ref bucket);
            return count;
        }
    }

    /// <summary>The longest duration recorded, in µs (0 if none).</summary>
    public long MaxMicros => Interlocked.Read(ref _max);

    public void Record(long micros)
    {
        micros = Math.Clamp(micros, 0, 1L << MaxExponent);
        Interlocked.Increment(ref _buckets[BucketOf(micros)]);
        var max = Interlocked.Read(ref _max);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    /// <summary>The upper bound of the bucket holding the <paramref name="quantile"/> (0..1] of the recorded durations,
    /// capped at <see cref="MaxMicros"/>; 0 if nothing was recorded.</summary>
    public long PercentileMicros(double quantile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(quantile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        var counts = new long[_buckets.Length];
        long total = 0;
        for (var i = 0; i < counts.Length; i++) total += counts[i] = Volatile.Read(ref _buckets[i]);
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank) return Math.Min(UpperBound(i), MaxMicros);
        }
        return MaxMicros;
    }

    /// <summary>0-3 count alone; from 4 on, a power of two 2^e is split into four buckets by the two bits below it.</summary>
    internal static int BucketOf(long micros)
    {
        if (micros < 4) return (int)micros;
        var exponent = BitOperations.Log2((ulong)micros);
        var quarter = (int)((micros >> (exponent - 2)) & 3);
        return 4 + ((exponent - 2) * 4) + quarter;
    }

    /// <summary>The largest duration that falls into bucket <paramref name="bucket"/>.</summary>
    internal static long UpperBound(int bucket)
    {
        if (bucket < 4) return bucket;
        var exponent = ((bucket - 4) / 4) + 2;
        var quarter = (bucket - 4) % 4;
        return ((5L + quarter) << (exponent - 2)) - 1;
    }
}
