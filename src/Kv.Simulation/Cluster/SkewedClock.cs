namespace Kv.Simulation.Cluster;

/// <summary>
/// A node's wall clock that is off by <see cref="Offset"/> from the simulation's true time (NTP drift, a badly
/// set clock, a step at reboot). Only <see cref="GetUtcNow"/> is skewed: elapsed-time measurements and timers
/// run on the node's own <see cref="SimulationClock"/>, as monotonic clocks do on real machines.
/// </summary>
/// <remarks>Threading: simulation thread only; <see cref="Offset"/> may change at any event (a clock step).</remarks>
public sealed class SkewedClock(TimeProvider inner) : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Offset;

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}
