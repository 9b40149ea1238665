namespace Kv.Engine.Compaction;

/// <summary>
/// A token bucket limiting background write throughput (compaction output) to <see cref="BytesPerSecond"/>, with a
/// burst of one second's worth. Time comes from a <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// A request larger than the burst is granted by going into debt: the next caller waits it off.
/// </summary>
/// <remarks>Thread-safe: the bucket state is guarded by a private lock; waiting happens outside it.</remarks>
public sealed class RateLimiter
{
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private double _tokens;
    private long _lastTimestamp;

    public RateLimiter(long bytesPerSecond, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        BytesPerSecond = bytesPerSecond;
        _time = timeProvider ?? TimeProvider.System;
        _tokens = bytesPerSecond;
        _lastTimestamp = _time.GetTimestamp();
    }

    public long BytesPerSecond { get; }

    /// <summary>Total time callers were told to wait.</summary>
    public TimeSpan TotalWait { get; private set; }

    /// <summary>Total bytes paid for by all callers since construction.</summary>
    public long TotalBytes { get; private set; }

    /// <summary>Takes <paramref name="bytes"/> tokens now and returns how long the caller must wait before using
    /// them (zero if the bucket held enough).</summary>
    public TimeSpan Reserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_lock)
        {
            Refill();
            TotalBytes += bytes;
            _tokens -= bytes;
            if (_tokens >= 0) return TimeSpan.Zero;
            var wait = TimeSpan.FromSeconds(-_tokens / BytesPerSecond);
            TotalWait += wait;
            return wait;
        }
    }

    /// <summary>Takes <paramref name="bytes"/> tokens, sleeping (on the <see cref="TimeProvider"/>) until they are paid for.</summary>
    public void Acquire(long bytes, CancellationToken cancellationToken = default)
    {
        var wait = Reserve(bytes);
        if (wait > TimeSpan.Zero) Task.Delay(wait, _time, cancellationToken).GetAwaiter().GetResult();
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_lastTimestamp, now);
        _lastTimestamp = now;
        _tokens = Math.Min(BytesPerSecond, _tokens + (elapsed.TotalSeconds * BytesPerSecond));
    }
}
