namespace Kv.Node.Cluster.Hints;

/// <summary>Settings of <see cref="HintedHandoff"/>.</summary>
public sealed class HintedHandoffOptions
{
    /// <summary>A replica down longer than this gets no new hints: anti-entropy repair is responsible for what it missed.</summary>
    public TimeSpan HintWindow { get; set; } = TimeSpan.FromHours(3);

    /// <summary>Replay throttle: at most this many hints per second to one replica, so a returning node is not flooded.</summary>
    public int ReplayHintsPerSecond { get; set; } = 2000;

    /// <summary>How long one replayed hint waits for its acknowledgement before replay stops and retries later.</summary>
    public TimeSpan ReplayTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often pending hints are checked against liveness (in case an "up" event was missed).</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether a replay starts on the thread pool and its waiters resume there (true, the default: a gossip event
    /// never runs a replay). False only for a single-threaded deterministic host such as the simulator: a replay
    /// then runs inline up to its first send, and its waiters resume on the thread that finished it.
    /// </summary>
    public bool RunContinuationsAsynchronously { get; set; } = true;
}
