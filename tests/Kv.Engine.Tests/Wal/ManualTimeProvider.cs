namespace Kv.Engine.Tests.Wal;

/// <summary>A TimeProvider whose timers fire only when the test says so.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly List<(TimerCallback Callback, object? State)> _timers = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _timers.Add((callback, state));
        return new NoTimer();
    }

    public void Fire()
    {
        foreach (var (callback, state) in _timers) callback(state);
    }

    private sealed class NoTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;
        public void Dispose() { }
        public ValueTask DisposeAsync() => default;
    }
}
