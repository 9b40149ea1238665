namespace Kv.Node.Time;

/// <summary>
/// Durable storage of the highest physical time (unix ms) the clock may have issued timestamps up to.
/// Store must be durable when it returns (the clock issues timestamps up to the bound right after).
/// </summary>
public interface IClockHighWaterMark
{
    /// <summary>The stored bound, or 0 when none was stored yet.</summary>
    long Load();

    void Store(long unixMs);
}
