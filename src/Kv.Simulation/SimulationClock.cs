namespace Kv.Simulation;

/// <summary>
/// <see cref="TimeProvider"/> on the simulation's virtual time. Timers become simulation events, owned by a
/// node when the clock belongs to one. Timestamps are virtual ticks (100 ns), frequency 10^7.
/// </summary>
/// <remarks>Threading: simulation thread only, like everything in the simulation.</remarks>
public sealed class SimulationClock : TimeProvider
{
    private readonly Simulation _simulation;
    private readonly SimulatedNode? _owner;

    internal SimulationClock(Simulation simulation, SimulatedNode? owner)
    {
        _simulation = simulation;
        _owner = owner;
    }

    public override DateTimeOffset GetUtcNow() => _simulation.Epoch.AddTicks(_simulation.NowTicks);

    public override long GetTimestamp() => _simulation.NowTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class Timer(SimulationClock clock, TimerCallback callback, object? state) : ITimer
    {
        private long _generation;
        private TimeSpan _period;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed) return false;
            var generation = ++_generation;
            _period = period;
            if (dueTime == Timeout.InfiniteTimeSpan) return true;
            Arm(dueTime, generation);
            return true;
        }

        private void Arm(TimeSpan due, long generation) =>
            clock._simulation.Schedule(due, () => Fire(generation), clock._owner);

        private void Fire(long generation)
        {
            if (_disposed || generation != _generation) return;
            if (_period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan) Arm(_period, generation);
            callback(state);
        }

        public void Dispose() => _disposed = true;

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
